module example.com/nonrepro

go 1.26.8
