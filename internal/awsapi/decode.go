package awsapi

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"strait/internal/model"
)

// param is one node of a Query request's parameters, split on dots:
// "Filter.1.Value.2=x" becomes Filter → 1 → Value → 2 with value x.
type param struct {
	value    string
	hasValue bool
	children map[string]*param
}

// parseParams builds the parameter tree of a request, leaving out Action and Version.
func parseParams(form url.Values) (*param, error) {
	root := &param{children: map[string]*param{}}
	for key, values := range form {
		if key == "Action" || key == "Version" {
			continue
		}
		node := root
		for _, part := range strings.Split(key, ".") {
			if part == "" {
				return nil, &model.Error{Err: model.ErrInvalid, Reason: model.ReasonUnknownParameter, ID: key,
					Msg: fmt.Sprintf("The parameter %s is not recognized", key)}
			}
			if node.children == nil {
				node.children = map[string]*param{}
			}
			child := node.children[part]
			if child == nil {
				child = &param{}
				node.children[part] = child
			}
			node = child
		}
		node.value, node.hasValue = values[0], true
	}
	return root, nil
}

// decoder fills a Go request struct from a parameter tree following a model shape.
// Go fields are found by the model's member names; parameters the model does not
// know are rejected, parameters the model knows but the Go struct lacks are accepted
// and ignored (Strait does not implement every option of every action).
type decoder struct{ m *apiModel }

func (d *decoder) decodeRequest(form url.Values, op string, out any) error {
	o := d.m.Operations[op]
	if o == nil {
		return fmt.Errorf("awsapi: no operation %s in model", op)
	}
	root, err := parseParams(form)
	if err != nil {
		return err
	}
	if o.Input == nil {
		return d.noParams(root)
	}
	return d.decode(root, o.Input.Shape, "", reflect.ValueOf(out).Elem())
}

func (d *decoder) noParams(root *param) error {
	for name := range root.children {
		return &model.Error{Err: model.ErrInvalid, Reason: model.ReasonUnknownParameter, ID: name,
			Msg: fmt.Sprintf("The parameter %s is not recognized", name)}
	}
	return nil
}

func (d *decoder) decode(p *param, shapeName, path string, v reflect.Value) error {
	s := d.m.Shapes[shapeName]
	if s == nil {
		return fmt.Errorf("awsapi: no shape %s in model", shapeName)
	}
	switch s.Type {
	case "structure":
		return d.decodeStruct(p, s, path, v)
	case "list":
		return d.decodeList(p, s, path, v)
	case "map":
		return d.decodeMap(p, s, path, v)
	default:
		if len(p.children) > 0 || !p.hasValue {
			return unknownParam(path + ".*")
		}
		return d.decodeScalar(p.value, s, path, v)
	}
}

func (d *decoder) decodeStruct(p *param, s *shape, path string, v reflect.Value) error {
	if p.hasValue && len(p.children) == 0 && path != "" {
		return invalidValue(path, p.value)
	}
	if v.IsValid() && v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	names := make([]string, 0, len(p.children))
	for name := range p.children {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		member, ok := s.queryNames[name]
		if !ok {
			return unknownParam(join(path, name))
		}
		var field reflect.Value
		if v.IsValid() {
			field = v.FieldByName(member)
		}
		if err := d.decode(p.children[name], s.Members[member].Shape, join(path, name), field); err != nil {
			return err
		}
	}
	for _, req := range s.Required {
		if _, ok := p.children[d.m.queryName(req, s.Members[req])]; !ok {
			return model.Missing(join(path, d.m.queryName(req, s.Members[req])))
		}
	}
	return nil
}

func (d *decoder) decodeList(p *param, s *shape, path string, v reflect.Value) error {
	items := p.children
	if !d.m.ec2() && !s.Flattened && !s.Member.Flattened {
		wrapper := "member"
		if s.Member.LocationName != "" {
			wrapper = s.Member.LocationName
		}
		if len(items) > 0 {
			inner, ok := items[wrapper]
			if !ok || len(items) != 1 {
				return unknownParam(path + "." + firstKey(items))
			}
			path += "." + wrapper
			items = inner.children
		}
	}
	if p.hasValue && p.value != "" && len(items) == 0 {
		return invalidValue(path, p.value)
	}
	type indexed struct {
		n int
		p *param
	}
	list := make([]indexed, 0, len(items))
	for key, child := range items {
		n, err := strconv.Atoi(key)
		if err != nil || n < 1 || n > 10000 {
			return unknownParam(path + "." + key)
		}
		list = append(list, indexed{n, child})
	}
	slices.SortFunc(list, func(a, b indexed) int { return a.n - b.n })
	if s.Max != nil && float64(len(list)) > *s.Max {
		return model.Invalid("The parameter %s may contain at most %d items", path, int(*s.Max))
	}
	var out reflect.Value
	if v.IsValid() {
		out = reflect.MakeSlice(v.Type(), len(list), len(list))
	}
	for i, it := range list {
		var elem reflect.Value
		if out.IsValid() {
			elem = out.Index(i)
		}
		if err := d.decode(it.p, s.Member.Shape, path+"."+strconv.Itoa(it.n), elem); err != nil {
			return err
		}
	}
	if v.IsValid() {
		v.Set(out)
	}
	return nil
}

// decodeMap reads Query maps: Name.entry.N.key / Name.entry.N.value.
func (d *decoder) decodeMap(p *param, s *shape, path string, v reflect.Value) error {
	entries := p.children
	if !s.Flattened {
		if len(entries) == 0 {
			return nil
		}
		inner, ok := entries["entry"]
		if !ok || len(entries) != 1 {
			return unknownParam(path + "." + firstKey(entries))
		}
		entries, path = inner.children, path+".entry"
	}
	keyName, valueName := "key", "value"
	if s.Key.LocationName != "" {
		keyName = s.Key.LocationName
	}
	if s.Value.LocationName != "" {
		valueName = s.Value.LocationName
	}
	if v.IsValid() && v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for n, e := range entries {
		k, val := e.children[keyName], e.children[valueName]
		if k == nil || !k.hasValue || len(e.children) > 2 || (val == nil && len(e.children) > 1) {
			return unknownParam(path + "." + n)
		}
		if v.IsValid() {
			vv := ""
			if val != nil {
				vv = val.value
			}
			v.SetMapIndex(reflect.ValueOf(k.value), reflect.ValueOf(vv))
		}
	}
	return nil
}

func (d *decoder) decodeScalar(raw string, s *shape, path string, v reflect.Value) error {
	if !d.m.ec2() {
		if err := elbConstraint(raw, s, path); err != nil {
			return err
		}
	}
	var val any
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, raw) {
			return model.Invalid("Value (%s) for parameter %s is invalid. Valid values: %s", raw, path, strings.Join(s.Enum, ", "))
		}
		val = raw
	case "integer", "long":
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || (s.Type == "integer" && (n > 1<<31-1 || n < -(1<<31))) {
			return invalidValue(path, raw)
		}
		val = n
	case "boolean":
		b, err := strconv.ParseBool(strings.ToLower(raw))
		if err != nil {
			return invalidValue(path, raw)
		}
		val = b
	case "double", "float":
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return invalidValue(path, raw)
		}
		val = f
	case "timestamp":
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			return invalidValue(path, raw)
		}
		val = t
	default:
		return fmt.Errorf("awsapi: %s: unsupported shape type %s", path, s.Type)
	}
	if !v.IsValid() {
		return nil
	}
	return setScalar(v, val)
}

// setScalar stores a decoded value into a Go field of a compatible kind.
func setScalar(v reflect.Value, val any) error {
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := setScalar(p.Elem(), val); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	switch x := val.(type) {
	case string:
		if v.Kind() == reflect.String {
			v.SetString(x)
			return nil
		}
	case int64:
		switch v.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64:
			v.SetInt(x)
			return nil
		}
	case bool:
		if v.Kind() == reflect.Bool {
			v.SetBool(x)
			return nil
		}
	case float64:
		if v.Kind() == reflect.Float64 {
			v.SetFloat(x)
			return nil
		}
	case time.Time:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(x))
			return nil
		}
	}
	return fmt.Errorf("awsapi: cannot store %T in %s", val, v.Type())
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func firstKey(m map[string]*param) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

func unknownParam(name string) error {
	return &model.Error{Err: model.ErrInvalid, Reason: model.ReasonUnknownParameter, ID: name,
		Msg: fmt.Sprintf("The parameter %s is not recognized", name)}
}

func invalidValue(name, value string) error {
	return &model.Error{Err: model.ErrInvalid, ID: name,
		Msg: fmt.Sprintf("Value (%s) for parameter %s is invalid", value, name)}
}
