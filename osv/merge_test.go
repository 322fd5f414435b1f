package osv

import (
	"reflect"
	"testing"
)

func TestMerge(t *testing.T) {
	rec := func(id string, aliases ...string) *Record { return &Record{ID: id, Aliases: aliases} }
	type group struct {
		ID      string
		IDs     []string
		Records []string
	}
	tests := []struct {
		name    string
		records []*Record
		want    []group
	}{
		{
			name:    "go record and its twins",
			records: []*Record{rec("GHSA-aaaa-bbbb-cccc", "CVE-2021-1"), rec("GO-2021-0001", "CVE-2021-1", "GHSA-aaaa-bbbb-cccc"), rec("CVE-2021-1")},
			want: []group{{"GO-2021-0001", []string{"CVE-2021-1", "GHSA-aaaa-bbbb-cccc", "GO-2021-0001"},
				[]string{"GHSA-aaaa-bbbb-cccc", "GO-2021-0001", "CVE-2021-1"}}},
		},
		{
			name: "transitive through an alias only",
			// A and C never name each other; both name B, B is not a record.
			records: []*Record{rec("PYSEC-2021-1", "CVE-2021-2"), rec("GHSA-xxxx-yyyy-zzzz", "CVE-2021-2"), rec("OTHER-1", "GHSA-xxxx-yyyy-zzzz")},
			want: []group{{"OTHER-1", []string{"CVE-2021-2", "GHSA-xxxx-yyyy-zzzz", "OTHER-1", "PYSEC-2021-1"},
				[]string{"PYSEC-2021-1", "GHSA-xxxx-yyyy-zzzz", "OTHER-1"}}},
		},
		{
			name:    "ghsa before cve",
			records: []*Record{rec("CVE-2020-9", "GHSA-pppp-qqqq-rrrr")},
			want:    []group{{"GHSA-pppp-qqqq-rrrr", []string{"CVE-2020-9", "GHSA-pppp-qqqq-rrrr"}, []string{"CVE-2020-9"}}},
		},
		{
			name:    "record id before alias-only id of the same class",
			records: []*Record{rec("GO-2022-0002", "GO-2022-0001")},
			want:    []group{{"GO-2022-0002", []string{"GO-2022-0001", "GO-2022-0002"}, []string{"GO-2022-0002"}}},
		},
		{
			name:    "separate vulnerabilities, duplicate ids, nil",
			records: []*Record{rec("GO-2022-0003", "CVE-2022-3"), nil, rec("GO-2022-0004"), rec("GO-2022-0003")},
			want: []group{
				{"GO-2022-0003", []string{"CVE-2022-3", "GO-2022-0003"}, []string{"GO-2022-0003", "GO-2022-0003"}},
				{"GO-2022-0004", []string{"GO-2022-0004"}, []string{"GO-2022-0004"}},
			},
		},
		{
			name:    "long chain",
			records: []*Record{rec("A-1", "B-1"), rec("C-1", "D-1"), rec("E-1", "D-1", "B-1"), rec("CVE-1", "E-1")},
			want: []group{{"A-1", []string{"A-1", "B-1", "C-1", "CVE-1", "D-1", "E-1"},
				[]string{"A-1", "C-1", "E-1", "CVE-1"}}},
		},
		{name: "empty", records: nil, want: []group{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []group{}
			for _, g := range Merge(tt.records) {
				var ids []string
				for _, r := range g.Records {
					ids = append(ids, r.ID)
				}
				got = append(got, group{g.ID, g.IDs, ids})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Merge =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestMergeReal(t *testing.T) {
	var records []*Record
	for _, id := range []string{"GO-2021-0113", "GO-2022-0288", "GO-2021-0067"} {
		records = append(records, readRecord(t, id))
	}
	records = append(records, &Record{ID: "GHSA-ppp9-7jff-5vj2", Aliases: []string{"CVE-2021-38561"}})
	groups := Merge(records)
	if len(groups) != 3 {
		t.Fatalf("len(Merge) = %d, want 3", len(groups))
	}
	if g := groups[1]; g.ID != "GO-2021-0113" || len(g.Records) != 2 {
		t.Errorf("group 1 = %s with %d records, want GO-2021-0113 with 2", g.ID, len(g.Records))
	}
}
