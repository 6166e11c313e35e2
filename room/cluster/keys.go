package cluster

// keys builds the names of the package's Redis keys and pub/sub channels
// under one prefix; the package doc lists them all.
type keys struct{ p string }

func (k keys) nodes() string             { return k.p + "nodes" }
func (k keys) nodePrefix() string        { return k.p + "node:" }
func (k keys) node(id NodeID) string     { return k.nodePrefix() + string(id) }
func (k keys) pending(id NodeID) string  { return k.nodePrefix() + string(id) + ":pending" }
func (k keys) host(r RoomID) string      { return k.p + "room:" + r.String() + ":host" }
func (k keys) config(r RoomID) string    { return k.p + "room:" + r.String() + ":config" }
func (k keys) rooms() string             { return k.p + "rooms" }
func (k keys) requests(id NodeID) string { return k.p + "bus:" + string(id) + ":requests" }
func (k keys) replies(id NodeID) string  { return k.p + "bus:" + string(id) + ":replies" }
func (k keys) events(r RoomID) string    { return k.p + "room:" + r.String() + ":events" }
