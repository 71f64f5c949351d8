package model

import "time"

// KindEndpointTraffic is the store kind of the traffic the data plane counted per
// interface endpoint; a record's key is KindEndpointTraffic + "/" + the endpoint ID.
const KindEndpointTraffic = "traffic"

// EndpointTraffic is what the data plane carried through one interface endpoint
// since it was created. Byte and connection counts only grow (data planes add what
// they counted since their last report, so a restart loses nothing already
// reported); ActiveConnections is the number open at Updated.
type EndpointTraffic struct {
	Connections       uint64    `json:"connections"`
	ActiveConnections int64     `json:"activeConnections"`
	BytesIn           uint64    `json:"bytesIn"`  // consumer → service
	BytesOut          uint64    `json:"bytesOut"` // service → consumer
	Rejected          uint64    `json:"rejected"` // closed without reaching a target
	Updated           time.Time `json:"updated"`
}
