package awsapi

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

//go:embed models/*.json.gz
var modelFiles embed.FS

// apiModel is the part of an AWS SDK service model that the wire protocol needs:
// operations with their input and output shapes, and every shape's members, names,
// list and enum rules.
type apiModel struct {
	Metadata struct {
		Protocol     string `json:"protocol"`
		APIVersion   string `json:"apiVersion"`
		XMLNamespace string `json:"xmlNamespace"`
	} `json:"metadata"`
	Operations map[string]*operation `json:"operations"`
	Shapes     map[string]*shape     `json:"shapes"`

	// errorStatus maps each error code the model declares to its HTTP status.
	errorStatus map[string]int
}

type operation struct {
	Name   string `json:"name"`
	Input  *ref   `json:"input"`
	Output *ref   `json:"output"`
}

// ref is a reference to a shape from a member, a list element or an operation.
type ref struct {
	Shape         string `json:"shape"`
	LocationName  string `json:"locationName"`
	QueryName     string `json:"queryName"`
	Flattened     bool   `json:"flattened"`
	ResultWrapper string `json:"resultWrapper"`
}

type shape struct {
	Type      string          `json:"type"`
	Members   map[string]*ref `json:"members"`
	Member    *ref            `json:"member"`
	Key       *ref            `json:"key"`
	Value     *ref            `json:"value"`
	Required  []string        `json:"required"`
	Enum      []string        `json:"enum"`
	Flattened bool            `json:"flattened"`
	Min       *float64        `json:"min"`
	Max       *float64        `json:"max"`
	Error     *struct {
		Code           string `json:"code"`
		HTTPStatusCode int    `json:"httpStatusCode"`
	} `json:"error"`

	// queryNames maps a query parameter name to its member name (built on load).
	queryNames map[string]string
}

// models returns the EC2 and ELBv2 models, parsed once per process (about 30 ms);
// they are never changed after loading, so every API shares them.
var models = sync.OnceValues(func() ([2]*apiModel, error) {
	ec2, err := loadModel("ec2.json.gz")
	if err != nil {
		return [2]*apiModel{}, err
	}
	elb, err := loadModel("elbv2.json.gz")
	return [2]*apiModel{ec2, elb}, err
})

// loadModel reads one embedded, gzipped model and indexes its query names.
func loadModel(file string) (*apiModel, error) {
	raw, err := modelFiles.ReadFile("models/" + file)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", file, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", file, err)
	}
	m := &apiModel{}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("model %s: %w", file, err)
	}
	m.errorStatus = map[string]int{}
	for _, s := range m.Shapes {
		if s.Error != nil {
			m.errorStatus[s.Error.Code] = s.Error.HTTPStatusCode
		}
		if s.Type != "structure" {
			continue
		}
		s.queryNames = make(map[string]string, len(s.Members))
		for name, mem := range s.Members {
			s.queryNames[m.queryName(name, mem)] = name
		}
	}
	return m, nil
}

// ec2 reports whether the model uses the EC2 protocol (as opposed to plain Query).
func (m *apiModel) ec2() bool { return m.Metadata.Protocol == "ec2" }

// queryName is the request parameter name of a structure member.
func (m *apiModel) queryName(member string, r *ref) string {
	if m.ec2() {
		switch {
		case r.QueryName != "":
			return r.QueryName
		case r.LocationName != "":
			return upperFirst(r.LocationName)
		}
		return member
	}
	if r.LocationName != "" {
		return r.LocationName
	}
	return member
}

// xmlName is the response element name of a structure member.
func (m *apiModel) xmlName(member string, r *ref) string {
	if r.LocationName != "" {
		return r.LocationName
	}
	return member
}

// namespace is the XML namespace of responses, with AWS's trailing slash.
func (m *apiModel) namespace() string {
	ns := m.Metadata.XMLNamespace
	if len(ns) > 0 && ns[len(ns)-1] != '/' {
		ns += "/"
	}
	return ns
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
