package awsapi

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// encoder writes a Go response struct as the XML body of an operation, naming every
// element as the model does: Go fields are matched to model members by name.
//
// Zero strings, nil pointers, nil slices, nil maps and zero times are left out;
// numbers, booleans and non-pointer structs are always written; an empty non-nil
// slice is written as an empty list element.
type encoder struct {
	m   *apiModel
	buf bytes.Buffer
}

// encodeResponse returns the whole XML document for op with the given output value.
func (m *apiModel) encodeResponse(op, requestID string, out any) ([]byte, error) {
	o := m.Operations[op]
	if o == nil {
		return nil, fmt.Errorf("awsapi: no operation %s in model", op)
	}
	e := &encoder{m: m}
	e.buf.WriteString(xml.Header[:len(xml.Header)-1])
	e.buf.WriteString("\n<" + op + "Response xmlns=\"" + m.namespace() + "\">")
	if m.ec2() {
		e.buf.WriteString("<requestId>" + requestID + "</requestId>")
	}
	if o.Output != nil {
		if !m.ec2() {
			e.buf.WriteString("<" + o.Output.ResultWrapper + ">")
		}
		if err := e.members(m.Shapes[o.Output.Shape], reflect.ValueOf(out)); err != nil {
			return nil, err
		}
		if !m.ec2() {
			e.buf.WriteString("</" + o.Output.ResultWrapper + ">")
		}
	}
	if !m.ec2() {
		e.buf.WriteString("<ResponseMetadata><RequestId>" + requestID + "</RequestId></ResponseMetadata>")
	}
	e.buf.WriteString("</" + op + "Response>")
	return e.buf.Bytes(), nil
}

// members writes the fields of a struct value as the members of structure shape s.
func (e *encoder) members(s *shape, v reflect.Value) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("awsapi: encoding %s as a structure", v.Type())
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		mem, ok := s.Members[f.Name]
		if !ok {
			return fmt.Errorf("awsapi: field %s.%s is not a member of the model shape", t.Name(), f.Name)
		}
		if err := e.value(e.m.xmlName(f.Name, mem), mem, v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) value(name string, r *ref, v reflect.Value) error {
	if omit(v) {
		return nil
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	s := e.m.Shapes[r.Shape]
	switch s.Type {
	case "structure":
		e.open(name)
		if err := e.members(s, v); err != nil {
			return err
		}
		e.close(name)
	case "list":
		item := "member"
		if e.m.ec2() {
			item = "item"
		}
		if s.Member.LocationName != "" {
			item = s.Member.LocationName
		}
		flat := s.Flattened || r.Flattened
		if !flat {
			if v.Len() == 0 {
				e.buf.WriteString("<" + name + "/>")
				return nil
			}
			e.open(name)
		} else {
			item = name
		}
		for i := range v.Len() {
			if err := e.value(item, s.Member, v.Index(i)); err != nil {
				return err
			}
		}
		if !flat {
			e.close(name)
		}
	case "map":
		return e.mapValue(name, s, v)
	default:
		e.open(name)
		if err := e.scalar(v); err != nil {
			return err
		}
		e.close(name)
	}
	return nil
}

func (e *encoder) mapValue(name string, s *shape, v reflect.Value) error {
	keyName, valueName := "key", "value"
	if s.Key.LocationName != "" {
		keyName = s.Key.LocationName
	}
	if s.Value.LocationName != "" {
		valueName = s.Value.LocationName
	}
	e.open(name)
	iter := v.MapRange()
	for iter.Next() {
		e.open("entry")
		if err := e.value(keyName, s.Key, iter.Key()); err != nil {
			return err
		}
		if err := e.value(valueName, s.Value, iter.Value()); err != nil {
			return err
		}
		e.close("entry")
	}
	e.close(name)
	return nil
}

func (e *encoder) scalar(v reflect.Value) error {
	switch v.Kind() {
	case reflect.String:
		return xml.EscapeText(&e.buf, []byte(v.String()))
	case reflect.Bool:
		e.buf.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int32, reflect.Int64:
		e.buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		e.buf.WriteString(strconv.FormatFloat(v.Float(), 'f', -1, 64))
	default:
		if t, ok := v.Interface().(time.Time); ok {
			e.buf.WriteString(t.UTC().Format("2006-01-02T15:04:05.000Z"))
			return nil
		}
		return fmt.Errorf("awsapi: cannot encode %s", v.Type())
	}
	return nil
}

func (e *encoder) open(name string)  { e.buf.WriteString("<" + name + ">") }
func (e *encoder) close(name string) { e.buf.WriteString("</" + name + ">") }

// omit reports whether a field is absent from the XML.
func omit(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return v.IsNil()
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			return t.IsZero()
		}
	}
	return false
}
