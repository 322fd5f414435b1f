package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/hallmark-dev/hallmark/internal/jsonkeys"
	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/osv"
)

// maxDepth bounds the nesting of JSON values, and of CycloneDX components
// in components, that Read accepts.
const maxDepth = 64

// Read parses a CycloneDX or SPDX JSON document into an Inventory. The
// package documentation describes what it accepts and how it maps the
// formats. Warnings name what Read left out; their Path is a JSON path.
func Read(data []byte) (*inventory.Inventory, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("sbom: document is %d bytes, more than the %d allowed", len(data), MaxSize)
	}
	top, err := checkJSON(data)
	if err != nil {
		return nil, err
	}
	if top == nil {
		return nil, errors.New("sbom: document is not a JSON object")
	}
	// Names in top differ in their Fold, so a name is there in its exact
	// case if its Fold maps to it.
	cdx := top[jsonkeys.Fold("bomFormat")] == "bomFormat"
	spdx := top[jsonkeys.Fold("spdxVersion")] == "spdxVersion"
	switch {
	case cdx && spdx:
		return nil, errors.New("sbom: document has both bomFormat (CycloneDX) and spdxVersion (SPDX)")
	case cdx:
		return readCycloneDX(data)
	case spdx:
		return readSPDX(data)
	}
	return nil, errors.New("sbom: neither a CycloneDX BOM (no bomFormat) nor an SPDX document (no spdxVersion)")
}

// checkJSON checks that data is one JSON value, nested at most maxDepth
// deep, without an object that has two members whose names are equal
// ignoring case as encoding/json ignores it (jsonkeys.Fold): both would fill
// one struct field. It runs at json.Valid's speed plus one pass over the
// bytes, since documents may be large. It returns the member names of the
// top-level object, keyed by their Fold, or nil if data is not an object.
func checkJSON(data []byte) (root map[string]string, _ error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		var se *json.SyntaxError
		switch {
		case len(bytes.TrimSpace(data)) == 0 || err != nil && strings.Contains(err.Error(), "unexpected end of JSON input"):
			return nil, errors.New("sbom: document is empty or truncated")
		case errors.As(err, &se):
			return nil, fmt.Errorf("sbom: byte %d: %w", se.Offset, err)
		}
		return nil, fmt.Errorf("sbom: not JSON: %v", err)
	}
	// data is valid JSON from here on.
	type frame struct {
		obj       bool
		expectKey bool
		index     int
		key       string
		keys      map[string]string // folded name to name
	}
	var stack []*frame
	path := func(n int) string {
		var segs []string
		for _, f := range stack[:n] {
			if f.obj {
				segs = append(segs, memberPath(f.key))
			} else {
				segs = append(segs, "["+strconv.Itoa(f.index)+"]")
			}
		}
		return jsonPath(segs)
	}
	for i := 0; i < len(data); {
		switch c := data[i]; c {
		case '{', '[':
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("sbom: %s: nested more than %d deep", path(len(stack)), maxDepth)
			}
			f := &frame{obj: c == '{', expectKey: c == '{'}
			if f.obj && len(stack) == 0 { // the top-level value: data is one
				f.keys = map[string]string{}
				root = f.keys
			}
			stack = append(stack, f)
			i++
		case '}', ']':
			stack = stack[:len(stack)-1]
			i++
		case ',':
			if top := stack[len(stack)-1]; top.obj {
				top.expectKey = true
			} else {
				top.index++
			}
			i++
		case '"':
			end := i + 1
			for data[end] != '"' {
				if data[end] == '\\' {
					end++
				}
				end++
			}
			end++
			if len(stack) > 0 && stack[len(stack)-1].expectKey {
				top := stack[len(stack)-1]
				top.expectKey = false
				var key string
				if bytes.IndexByte(data[i:end], '\\') >= 0 {
					json.Unmarshal(data[i:end], &key) // valid: checked above
				} else {
					key = string(data[i+1 : end-1])
				}
				fold := jsonkeys.Fold(key)
				if other, ok := top.keys[fold]; ok {
					return nil, fmt.Errorf("sbom: %s: members %q and %q have the same name", path(len(stack)-1), other, key)
				}
				if top.keys == nil {
					top.keys = map[string]string{}
				}
				top.keys[fold] = key
				top.key = key
			}
			i = end
		default:
			i++
		}
	}
	return root, nil
}

var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$-]*$`)

func memberPath(key string) string {
	if identifier.MatchString(key) {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

func jsonPath(segs []string) string {
	if len(segs) == 0 {
		return "document"
	}
	return strings.TrimPrefix(strings.Join(segs, ""), ".")
}

// decode unmarshals raw into v, naming path in its errors.
func decode(path string, raw json.RawMessage, v any) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			path += "." + te.Field
		}
		return fmt.Errorf("sbom: %s: a JSON %s where the schema wants %s", path, te.Value, typeName(te.Type.Kind().String()))
	}
	return fmt.Errorf("sbom: %s: %w", path, err)
}

func typeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	return "a " + kind
}

// reader collects what a document says, keyed by purl and path, and turns
// it into an Inventory.
type reader struct {
	inv   inventory.Inventory
	comps map[string]*inventory.Component
	files map[string]*inventory.File
	count int
}

func newReader() *reader {
	return &reader{
		comps: map[string]*inventory.Component{},
		files: map[string]*inventory.File{},
	}
}

func (r *reader) warn(path, format string, args ...any) {
	r.inv.Warnings = append(r.inv.Warnings, inventory.Warning{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (r *reader) counted(path string) error {
	r.count++
	if r.count > MaxComponents {
		return fmt.Errorf("sbom: %s: more than %d components", path, MaxComponents)
	}
	return nil
}

// add merges c into the components read so far; it returns the merged one.
func (r *reader) add(c inventory.Component) *inventory.Component {
	old, ok := r.comps[c.PURL]
	if !ok {
		r.comps[c.PURL] = &c
		return &c
	}
	old.Locations = append(old.Locations, c.Locations...)
	old.Licenses = append(old.Licenses, c.Licenses...)
	for alg, v := range c.Hashes {
		if _, ok := old.Hashes[alg]; !ok {
			if old.Hashes == nil {
				old.Hashes = map[string]string{}
			}
			old.Hashes[alg] = v
		}
	}
	if old.Scope == "" {
		old.Scope = c.Scope
	}
	return old
}

func (r *reader) file(path string) *inventory.File {
	f, ok := r.files[path]
	if !ok {
		f = &inventory.File{Path: path}
		r.files[path] = f
	}
	return f
}

// dependsOn records that from depends on deps, and that its list of
// dependencies is known (even if deps is empty).
func (r *reader) dependsOn(from *inventory.Component, deps []string) {
	if from.DependsOn == nil {
		from.DependsOn = []string{}
	}
	from.DependsOn = append(from.DependsOn, deps...)
}

// finish returns the Inventory, sorted, with its references resolved.
func (r *reader) finish() *inventory.Inventory {
	inv := &r.inv
	delete(r.comps, inv.Subject.PURL)
	keep := func(refs []string, self string) []string {
		if refs == nil {
			return nil
		}
		out := []string{}
		for _, p := range sortedSet(refs) {
			if _, ok := r.comps[p]; ok && p != self {
				out = append(out, p)
			}
		}
		return out
	}
	for _, c := range r.comps {
		c.Licenses = nilIfEmpty(sortedSet(c.Licenses))
		c.Locations = nilIfEmpty(sortedSet(c.Locations))
		c.DependsOn = keep(c.DependsOn, c.PURL)
		inv.Components = append(inv.Components, *c)
	}
	slices.SortFunc(inv.Components, func(a, b inventory.Component) int { return strings.Compare(a.PURL, b.PURL) })
	inv.Subject.Licenses = nilIfEmpty(sortedSet(inv.Subject.Licenses))
	inv.Subject.Locations = nilIfEmpty(sortedSet(inv.Subject.Locations))
	inv.Subject.DependsOn = keep(inv.Subject.DependsOn, inv.Subject.PURL)
	for _, f := range r.files {
		f.Components = nilIfEmpty(keep(f.Components, ""))
		inv.Files = append(inv.Files, *f)
	}
	slices.SortFunc(inv.Files, func(a, b inventory.File) int { return strings.Compare(a.Path, b.Path) })
	return inv
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// component returns the component purl names; name and version are the
// document's own fields, used when the purl has none.
func component(purl, name, version string) (inventory.Component, error) {
	p, err := packageurl.FromString(purl)
	if err != nil {
		return inventory.Component{}, err
	}
	c := inventory.Component{PURL: purl, Name: p.Name, Version: p.Version}
	if p.Namespace != "" {
		c.Name = p.Namespace + "/" + p.Name
	}
	if c.Version == "" {
		c.Version = version
	}
	switch p.Type {
	case packageurl.TypeGolang:
		c.Ecosystem = inventory.Go
		// packageurl-go lowercases golang names, but module paths are
		// case-sensitive: take the path from the purl as written.
		if path := purlPath(purl); path != "" {
			c.Name = path
		}
		if c.Name == "stdlib" || c.Name == "toolchain" {
			c.Version = strings.TrimPrefix(strings.TrimPrefix(c.Version, "go"), "v")
			if v := osv.GoVersion("go" + c.Version); v != "" {
				c.Version = v
			}
		} else if c.Version != "" && '0' <= c.Version[0] && c.Version[0] <= '9' {
			c.Version = "v" + c.Version
		}
	case packageurl.TypeNPM:
		c.Ecosystem = inventory.NPM
		if p.Namespace != "" && !strings.HasPrefix(p.Namespace, "@") {
			c.Name = "@" + c.Name
		}
	case packageurl.TypePyPi:
		c.Ecosystem = inventory.PyPI
		c.Name = pep503.ReplaceAllString(strings.ToLower(c.Name), "-")
	case packageurl.TypeCargo:
		c.Ecosystem = inventory.CratesIO
	}
	if c.Name == "" {
		c.Name = name
	}
	return c, nil
}

var pep503 = regexp.MustCompile(`[-_.]+`)

// purlPath returns the namespace and name of a purl as written, percent
// decoded, or "" if they do not decode.
func purlPath(purl string) string {
	s := purl[len("pkg:"):]
	s = strings.TrimLeft(s, "/")
	s, _, _ = strings.Cut(s, "#")
	s, _, _ = strings.Cut(s, "?")
	_, s, _ = strings.Cut(s, "/")
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	var segs []string
	for _, seg := range strings.Split(s, "/") {
		if seg == "" {
			continue
		}
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return ""
		}
		segs = append(segs, dec)
	}
	return strings.Join(segs, "/")
}

// scope returns the Scope a "hallmark:scope" value names, or "".
func scope(v string) inventory.Scope {
	switch s := inventory.Scope(v); s {
	case inventory.Direct, inventory.Indirect, inventory.Toolchain, inventory.Development:
		return s
	}
	return ""
}

// defaultScope fills in the scope of c when the document does not state
// one: the Go toolchain's packages are Toolchain.
func defaultScope(c *inventory.Component) {
	if c.Scope == "" && c.Ecosystem == inventory.Go && (c.Name == "stdlib" || c.Name == "toolchain") {
		c.Scope = inventory.Toolchain
	}
}

var syftLocation = regexp.MustCompile(`^syft:location:[0-9]+:path$`)

// cdxHashName maps the spellings of hash algorithms found in either format
// to the CycloneDX names inventory uses.
func cdxHashName(alg string) (string, bool) {
	if _, ok := hashAlgs[alg]; ok {
		return alg, true
	}
	for name, a := range hashAlgs {
		if a.spdx == alg {
			return name, true
		}
	}
	return "", false
}

func addHash(c *inventory.Component, alg, value string) {
	name, ok := cdxHashName(alg)
	value = strings.ToLower(value)
	if !ok || !isHex(value, len(value)) || value == "" {
		return
	}
	if c.Hashes == nil {
		c.Hashes = map[string]string{}
	}
	c.Hashes[name] = value
}

// The parts of a CycloneDX BOM that Read uses.
type (
	cdxIn struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    *struct {
			Component json.RawMessage `json:"component"`
		} `json:"metadata"`
		Components   []json.RawMessage `json:"components"`
		Dependencies []json.RawMessage `json:"dependencies"`
	}
	cdxComponentIn struct {
		BOMRef  string `json:"bom-ref"`
		Type    string `json:"type"`
		Name    string `json:"name"`
		Version string `json:"version"`
		PURL    string `json:"purl"`
		Scope   string `json:"scope"`
		Hashes  []struct {
			Alg     string `json:"alg"`
			Content string `json:"content"`
		} `json:"hashes"`
		Licenses []struct {
			License *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"license"`
			Expression string `json:"expression"`
		} `json:"licenses"`
		Properties []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"properties"`
		Components []json.RawMessage `json:"components"`
	}
	cdxDependencyIn struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	}
)

// cdxTarget is what a bom-ref names.
type cdxTarget struct {
	comp *inventory.Component // a component or the subject
	file *inventory.File
}

func readCycloneDX(data []byte) (*inventory.Inventory, error) {
	var in cdxIn
	if err := decode("document", data, &in); err != nil {
		return nil, err
	}
	if in.BOMFormat != "CycloneDX" {
		return nil, fmt.Errorf("sbom: bomFormat: %q, want \"CycloneDX\"", in.BOMFormat)
	}
	switch in.SpecVersion {
	case "1.4", "1.5", "1.6", "1.7":
	default:
		return nil, fmt.Errorf("sbom: specVersion: CycloneDX %q is not supported (1.4 to 1.7 are)", in.SpecVersion)
	}
	r := newReader()
	refs := map[string]cdxTarget{}
	purls := map[string]string{} // bom-ref to purl, for components merged by purl

	if in.Metadata != nil && len(in.Metadata.Component) > 0 && string(in.Metadata.Component) != "null" {
		var mc cdxComponentIn
		if err := decode("metadata.component", in.Metadata.Component, &mc); err != nil {
			return nil, err
		}
		c := inventory.Component{Name: mc.Name, Version: mc.Version}
		if mc.PURL != "" {
			var err error
			if c, err = component(mc.PURL, mc.Name, mc.Version); err != nil {
				return nil, fmt.Errorf("sbom: metadata.component.purl: %w", err)
			}
		}
		cdxDetails(&c, &mc)
		c.Scope = scopeProperty(&mc)
		r.inv.Subject = c
		if mc.BOMRef != "" {
			refs[mc.BOMRef] = cdxTarget{comp: &r.inv.Subject}
		}
	}

	var walk func(path string, raws []json.RawMessage, depth int) error
	walk = func(path string, raws []json.RawMessage, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("sbom: %s: components nested more than %d deep", path, maxDepth)
		}
		for i, raw := range raws {
			p := path + "[" + strconv.Itoa(i) + "]"
			if err := r.counted(p); err != nil {
				return err
			}
			var mc cdxComponentIn
			if err := decode(p, raw, &mc); err != nil {
				return err
			}
			switch {
			case mc.PURL != "":
				c, err := component(mc.PURL, mc.Name, mc.Version)
				if err != nil {
					return fmt.Errorf("sbom: %s.purl: %w", p, err)
				}
				cdxDetails(&c, &mc)
				c.Scope = scopeProperty(&mc)
				if c.Scope == "" && (mc.Scope == "optional" || mc.Scope == "excluded") {
					c.Scope = inventory.Development
				}
				defaultScope(&c)
				if c.PURL == r.inv.Subject.PURL {
					// The subject listed again among its components.
					if mc.BOMRef != "" {
						refs[mc.BOMRef] = cdxTarget{comp: &r.inv.Subject}
					}
					break
				}
				r.add(c)
				if mc.BOMRef != "" {
					purls[mc.BOMRef] = c.PURL
				}
			case mc.Type == "file":
				path := mc.Name
				if path == "." {
					path = ""
				}
				f := r.file(path)
				for _, h := range mc.Hashes {
					if h.Alg == "SHA-256" && isHex(strings.ToLower(h.Content), 64) {
						f.SHA256 = strings.ToLower(h.Content)
					}
				}
				for _, pr := range mc.Properties {
					switch pr.Name {
					case propFormat:
						f.Format = pr.Value
					case propSize:
						if n, err := strconv.ParseInt(pr.Value, 10, 64); err == nil && n >= 0 {
							f.Size = n
						}
					}
				}
				if mc.BOMRef != "" {
					refs[mc.BOMRef] = cdxTarget{file: f}
				}
			default:
				r.warn(p, "component %q has no purl; left out", mc.Name)
			}
			if len(mc.Components) > 0 {
				if err := walk(p+".components", mc.Components, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk("components", in.Components, 0); err != nil {
		return nil, err
	}
	target := func(ref string) (cdxTarget, bool) {
		if t, ok := refs[ref]; ok {
			return t, true
		}
		if p, ok := purls[ref]; ok {
			return cdxTarget{comp: r.comps[p]}, true
		}
		// A component without a bom-ref, referred to by its purl.
		if c, ok := r.comps[ref]; ok {
			return cdxTarget{comp: c}, true
		}
		return cdxTarget{}, false
	}

	for i, raw := range in.Dependencies {
		p := "dependencies[" + strconv.Itoa(i) + "]"
		var dep cdxDependencyIn
		if err := decode(p, raw, &dep); err != nil {
			return nil, err
		}
		t, ok := target(dep.Ref)
		if !ok {
			r.warn(p, "ref %q names no component; left out", dep.Ref)
			continue
		}
		var deps []string
		for _, ref := range dep.DependsOn {
			if to, ok := target(ref); ok && to.comp != nil && to.comp != &r.inv.Subject {
				deps = append(deps, to.comp.PURL)
			}
		}
		switch {
		case t.comp != nil:
			r.dependsOn(t.comp, deps)
		case t.file != nil:
			t.file.Components = append(t.file.Components, deps...)
		}
	}
	return r.finish(), nil
}

// cdxDetails copies licenses, hashes and locations of mc into c.
func cdxDetails(c *inventory.Component, mc *cdxComponentIn) {
	for _, l := range mc.Licenses {
		switch {
		case l.Expression != "":
			c.Licenses = append(c.Licenses, l.Expression)
		case l.License != nil && l.License.ID != "":
			c.Licenses = append(c.Licenses, l.License.ID)
		case l.License != nil && l.License.Name != "":
			c.Licenses = append(c.Licenses, l.License.Name)
		}
	}
	for _, h := range mc.Hashes {
		addHash(c, h.Alg, h.Content)
	}
	for _, pr := range mc.Properties {
		if pr.Name == propLocation || syftLocation.MatchString(pr.Name) {
			c.Locations = append(c.Locations, pr.Value)
		}
	}
}

func scopeProperty(mc *cdxComponentIn) inventory.Scope {
	for _, pr := range mc.Properties {
		if pr.Name == propScope {
			return scope(pr.Value)
		}
	}
	return ""
}

// The parts of an SPDX document that Read uses.
type (
	spdxIn struct {
		SPDXVersion       string            `json:"spdxVersion"`
		SPDXID            string            `json:"SPDXID"`
		Name              string            `json:"name"`
		DocumentDescribes []string          `json:"documentDescribes"`
		Packages          []json.RawMessage `json:"packages"`
		Files             []json.RawMessage `json:"files"`
		Relationships     []json.RawMessage `json:"relationships"`
	}
	spdxPackageIn struct {
		SPDXID           string `json:"SPDXID"`
		Name             string `json:"name"`
		VersionInfo      string `json:"versionInfo"`
		PackageFileName  string `json:"packageFileName"`
		LicenseConcluded string `json:"licenseConcluded"`
		LicenseDeclared  string `json:"licenseDeclared"`
		Comment          string `json:"comment"`
		Checksums        []struct {
			Algorithm     string `json:"algorithm"`
			ChecksumValue string `json:"checksumValue"`
		} `json:"checksums"`
		ExternalRefs []struct {
			ReferenceCategory string `json:"referenceCategory"`
			ReferenceType     string `json:"referenceType"`
			ReferenceLocator  string `json:"referenceLocator"`
		} `json:"externalRefs"`
		PrimaryPackagePurpose string `json:"primaryPackagePurpose"`
	}
	spdxFileIn struct {
		SPDXID    string `json:"SPDXID"`
		FileName  string `json:"fileName"`
		Checksums []struct {
			Algorithm     string `json:"algorithm"`
			ChecksumValue string `json:"checksumValue"`
		} `json:"checksums"`
	}
	spdxRelationshipIn struct {
		A    string `json:"spdxElementId"`
		Type string `json:"relationshipType"`
		B    string `json:"relatedSpdxElement"`
	}
)

func readSPDX(data []byte) (*inventory.Inventory, error) {
	var in spdxIn
	if err := decode("document", data, &in); err != nil {
		return nil, err
	}
	switch in.SPDXVersion {
	case "SPDX-2.2", "SPDX-2.3":
	default:
		return nil, fmt.Errorf("sbom: spdxVersion: %q is not supported (SPDX-2.2 and SPDX-2.3 are)", in.SPDXVersion)
	}
	if len(in.Packages)+len(in.Files) > MaxComponents {
		return nil, fmt.Errorf("sbom: packages: %d packages and files, more than %d", len(in.Packages)+len(in.Files), MaxComponents)
	}
	rels := make([]spdxRelationshipIn, len(in.Relationships))
	for i, raw := range in.Relationships {
		if err := decode("relationships["+strconv.Itoa(i)+"]", raw, &rels[i]); err != nil {
			return nil, err
		}
	}
	// The subject is the first element the document describes.
	docID := in.SPDXID
	if docID == "" {
		docID = "SPDXRef-DOCUMENT"
	}
	subjectID := ""
	if len(in.DocumentDescribes) > 0 {
		subjectID = in.DocumentDescribes[0]
	}
	for _, rel := range rels {
		if subjectID != "" {
			break
		}
		switch {
		case rel.Type == "DESCRIBES" && rel.A == docID:
			subjectID = rel.B
		case rel.Type == "DESCRIBED_BY" && rel.B == docID:
			subjectID = rel.A
		}
	}

	r := newReader()
	r.inv.Subject.Name = in.Name
	comps := map[string]*inventory.Component{} // by SPDXID, the subject included
	files := map[string]*inventory.File{}      // by SPDXID
	for i, raw := range in.Packages {
		p := "packages[" + strconv.Itoa(i) + "]"
		var pk spdxPackageIn
		if err := decode(p, raw, &pk); err != nil {
			return nil, err
		}
		purl := ""
		for j, ref := range pk.ExternalRefs {
			cat := strings.ReplaceAll(ref.ReferenceCategory, "_", "-")
			if cat == "PACKAGE-MANAGER" && ref.ReferenceType == "purl" {
				purl = ref.ReferenceLocator
				if purl == "" {
					return nil, fmt.Errorf("sbom: %s.externalRefs[%d].referenceLocator: empty purl", p, j)
				}
				p = p + ".externalRefs[" + strconv.Itoa(j) + "].referenceLocator"
				break
			}
		}
		notes := commentValues(pk.Comment)
		switch {
		case purl != "":
			c, err := component(purl, pk.Name, pk.VersionInfo)
			if err != nil {
				return nil, fmt.Errorf("sbom: %s: %w", p, err)
			}
			spdxDetails(&c, &pk, notes)
			if pk.SPDXID == subjectID {
				c.Scope = ""
				r.inv.Subject = c
				comps[pk.SPDXID] = &r.inv.Subject
				break
			}
			defaultScope(&c)
			comps[pk.SPDXID] = r.add(c)
		case pk.SPDXID == subjectID:
			c := inventory.Component{Name: pk.Name, Version: pk.VersionInfo}
			spdxDetails(&c, &pk, notes)
			c.Scope = ""
			r.inv.Subject = c
			comps[pk.SPDXID] = &r.inv.Subject
		case pk.PrimaryPackagePurpose == "FILE" || pk.PackageFileName != "":
			f := r.file(spdxPath(pk.PackageFileName, pk.Name))
			for _, c := range pk.Checksums {
				if c.Algorithm == "SHA256" && isHex(strings.ToLower(c.ChecksumValue), 64) {
					f.SHA256 = strings.ToLower(c.ChecksumValue)
				}
			}
			if v := notes[propFormat]; len(v) > 0 {
				f.Format = v[0]
			}
			if v := notes[propSize]; len(v) > 0 {
				if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
					f.Size = n
				}
			}
			files[pk.SPDXID] = f
		default:
			r.warn(p, "package %q has no purl; left out", pk.Name)
		}
	}
	for i, raw := range in.Files {
		var fi spdxFileIn
		if err := decode("files["+strconv.Itoa(i)+"]", raw, &fi); err != nil {
			return nil, err
		}
		f := r.file(spdxPath(fi.FileName, ""))
		for _, c := range fi.Checksums {
			if c.Algorithm == "SHA256" && isHex(strings.ToLower(c.ChecksumValue), 64) {
				f.SHA256 = strings.ToLower(c.ChecksumValue)
			}
		}
		files[fi.SPDXID] = f
	}

	for _, rel := range rels {
		a, b := rel.A, rel.B
		switch {
		case rel.Type == "DEPENDS_ON":
		case strings.HasSuffix(rel.Type, "DEPENDENCY_OF"):
			a, b = b, a
		case rel.Type == "CONTAINS":
		case rel.Type == "CONTAINED_BY":
			a, b = b, a
		default:
			continue
		}
		from, to := comps[a], comps[b]
		switch {
		case rel.Type == "CONTAINS" || rel.Type == "CONTAINED_BY":
			if f := files[a]; f != nil && to != nil && to != &r.inv.Subject {
				f.Components = append(f.Components, to.PURL)
			}
		case from == nil:
		case b == "NONE" && rel.Type == "DEPENDS_ON":
			r.dependsOn(from, nil)
		case to != nil && to != &r.inv.Subject:
			r.dependsOn(from, []string{to.PURL})
		}
	}
	return r.finish(), nil
}

// spdxPath is the walk-relative path of an SPDX file name ("./a/b" is
// "a/b", "." is the root itself), or name when there is no file name.
func spdxPath(fileName, name string) string {
	if fileName == "" {
		fileName = name
	}
	if fileName == "." || fileName == "./" {
		return ""
	}
	return strings.TrimPrefix(fileName, "./")
}

// commentValues returns the "hallmark:<key>=<quoted>" lines of an SPDX
// comment, by key; lines that are not of that form are ignored.
func commentValues(comment string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(comment, "\n") {
		key, quoted, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(key, "hallmark:") {
			continue
		}
		if v, err := strconv.Unquote(quoted); err == nil {
			out[key] = append(out[key], v)
		}
	}
	return out
}

// spdxDetails copies licenses, hashes, scope and locations of pk into c.
func spdxDetails(c *inventory.Component, pk *spdxPackageIn, notes map[string][]string) {
	switch {
	case len(notes[propLicense]) > 0:
		c.Licenses = notes[propLicense]
	case pk.LicenseDeclared != "" && pk.LicenseDeclared != noAssertion && pk.LicenseDeclared != "NONE":
		c.Licenses = []string{pk.LicenseDeclared}
	case pk.LicenseConcluded != "" && pk.LicenseConcluded != noAssertion && pk.LicenseConcluded != "NONE":
		c.Licenses = []string{pk.LicenseConcluded}
	}
	for _, cs := range pk.Checksums {
		addHash(c, cs.Algorithm, cs.ChecksumValue)
	}
	c.Locations = append(c.Locations, notes[propLocation]...)
	if v := notes[propScope]; len(v) > 0 {
		c.Scope = scope(v[0])
	}
}
