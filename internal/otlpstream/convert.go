// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"

import "fmt"

// Converter handles the records of one signal without its pdata type, for
// tools that work on streams by name (cometctl).
type Converter struct {
	Namespace string // "traces"
	Items     string // what its requests hold: "spans"
	// ProtoToJSON decodes a stored record and encodes it as OTLP JSON,
	// returning the request's items.
	ProtoToJSON func(record []byte) (json []byte, items int, err error)
	// JSONToProto decodes an OTLP JSON request and encodes it as a record.
	JSONToProto func(json []byte) (record []byte, items int, err error)
	// CheckProto decodes a record only to count its items, refusing what
	// is not a request of the signal.
	CheckProto func(record []byte) (items int, err error)
}

// Converters returns the converter of every signal, by namespace.
func Converters() map[string]*Converter {
	return map[string]*Converter{
		Traces.Namespace():   converter(Traces),
		Metrics.Namespace():  converter(Metrics),
		Logs.Namespace():     converter(Logs),
		Profiles.Namespace(): converter(Profiles),
	}
}

func converter[T any](c *Codec[T]) *Converter {
	ns := c.Namespace()
	return &Converter{
		Namespace: ns,
		Items:     c.Items,
		ProtoToJSON: func(b []byte) ([]byte, int, error) {
			d, err := c.Unmarshal(b)
			if err != nil {
				return nil, 0, fmt.Errorf("not an OTLP %s request in protobuf: %w", ns, err)
			}
			j, err := c.MarshalJSON(d)
			return j, c.Count(d), err
		},
		JSONToProto: func(b []byte) ([]byte, int, error) {
			d, err := c.UnmarshalJSON(b)
			if err != nil {
				return nil, 0, fmt.Errorf("not an OTLP %s request in JSON: %w", ns, err)
			}
			p, err := c.Marshal(d)
			return p, c.Count(d), err
		},
		CheckProto: func(b []byte) (int, error) {
			d, err := c.Unmarshal(b)
			if err != nil {
				return 0, fmt.Errorf("not an OTLP %s request in protobuf: %w", ns, err)
			}
			return c.Count(d), nil
		},
	}
}
