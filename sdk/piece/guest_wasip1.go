//go:build wasip1

package piece

import (
	"encoding/json"
	"errors"
	"runtime"
	"unsafe"
)

//go:wasmimport atom http_request
func hostHTTPRequest(reqPtr, reqLen, outPtr, outCap uint32) int32

//go:wasmimport atom credentials
func hostCredentials(outPtr, outCap uint32) int32

//go:wasmimport atom refresh
func hostRefresh(outPtr, outCap uint32) int32

//go:wasmimport atom store_get
func hostStoreGet(keyPtr, keyLen, outPtr, outCap uint32) int32

//go:wasmimport atom store_put
func hostStorePut(keyPtr, keyLen, valPtr, valLen uint32) int32

//go:wasmimport atom log
func hostLog(level, msgPtr, msgLen uint32)

//go:wasmimport atom result_read
func hostResultRead(outPtr, outCap uint32) int32

// allocations keeps buffers handed to the host alive until atom_free.
var allocations = map[uint32][]byte{}

// lastResult keeps the previous export's result alive until the next call.
var lastResult []byte

// scratch receives host results; the part a call used (scratchUsed bytes)
// is zeroed after every execution.
var (
	scratch     = make([]byte, 16<<10)
	scratchUsed int
)

// Instances serve one call at a time, so the request and response buffers
// of an execution are reused by the next one instead of being allocated
// per call. Both are zeroed between executions; buffers that grew past
// keepBuffer are dropped rather than kept for the life of the instance.
var (
	request     []byte
	requestBusy bool
	response    []byte
)

const keepBuffer = 64 << 10

func ptr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

func pack(b []byte) uint64 {
	lastResult = b
	return uint64(ptr(b))<<32 | uint64(len(b))
}

//go:wasmexport atom_abi_version
func exportABIVersion() int32 { return ABIVersion }

//go:wasmexport atom_alloc
func exportAlloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	if !requestBusy && size <= keepBuffer {
		if uint32(cap(request)) < size {
			request = make([]byte, size, max(size, 4<<10))
		}
		request = request[:size]
		requestBusy = true
		return ptr(request)
	}
	b := make([]byte, size)
	p := ptr(b)
	allocations[p] = b
	return p
}

//go:wasmexport atom_free
func exportFree(p, size uint32) {
	if requestBusy && p == ptr(request) {
		clear(request)
		requestBusy = false
		return
	}
	if b, ok := allocations[p]; ok {
		clear(b)
		delete(allocations, p)
	}
}

// allocated returns the block at p from atom_alloc.
func allocated(p uint32) []byte {
	if requestBusy && p == ptr(request) {
		return request
	}
	return allocations[p]
}

//go:wasmexport atom_manifest
func exportManifest() uint64 {
	if registered == nil {
		return pack(nil)
	}
	b, _ := json.Marshal(registered.Manifest())
	return pack(b)
}

//go:wasmexport atom_execute
func exportExecute(p, n uint32) uint64 {
	in := allocated(p)
	if uint32(len(in)) < n {
		return pack(failure(errors.New("atom_execute: input buffer was not allocated with atom_alloc")))
	}
	defer exportFree(p, n)
	clear(lastResult)
	if registered == nil {
		return pack(failure(errors.New("no piece registered")))
	}
	if cap(response) > keepBuffer {
		response = nil
	}
	response = registered.appendExecute(response[:0], in[:n], wasmHost{})
	clear(scratch[:scratchUsed])
	scratchUsed = 0
	return pack(response)
}

//go:wasmexport atom_trigger
func exportTrigger(p, n uint32) uint64 {
	in := allocated(p)
	if uint32(len(in)) < n {
		return pack([]byte(`{"error":{"code":"failed","message":"atom_trigger: input buffer was not allocated with atom_alloc"}}`))
	}
	defer exportFree(p, n)
	clear(lastResult)
	if registered == nil {
		return pack([]byte(`{"error":{"code":"unsupported","message":"no piece registered"}}`))
	}
	out := registered.RunTrigger(in[:n], wasmHost{})
	clear(scratch[:scratchUsed])
	scratchUsed = 0
	return pack(out)
}

// call runs a host function that writes into an output buffer, growing the
// buffer through result_read when the result does not fit.
func call(f func(outPtr, outCap uint32) int32) ([]byte, int32) {
	n := f(ptr(scratch), uint32(len(scratch)))
	runtime.KeepAlive(scratch)
	if n >= 0 && int(n) <= len(scratch) {
		scratchUsed = max(scratchUsed, int(n))
	}
	size := n
	if size < 0 {
		size = hostResultRead(0, 0)
		if size < 0 {
			return nil, n
		}
	}
	if int(size) <= len(scratch) && n >= 0 {
		return append([]byte(nil), scratch[:size]...), n
	}
	buf := make([]byte, size)
	hostResultRead(ptr(buf), uint32(len(buf)))
	return buf, n
}

func hostErr(b []byte, status int32) error {
	var he HostError
	if json.Unmarshal(b, &he) != nil || he.Message == "" {
		he.Message = "host call failed"
	}
	return &Error{Summary: he.Message, Detail: he.Code}
}

type wasmHost struct{}

func (wasmHost) HTTP(req HTTPRequest) (*HTTPResponse, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	out, status := call(func(o, c uint32) int32 { return hostHTTPRequest(ptr(in), uint32(len(in)), o, c) })
	runtime.KeepAlive(in)
	if status < 0 {
		return nil, hostErr(out, status)
	}
	var resp HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

func credentialsCall(f func(o, c uint32) int32) (Credentials, error) {
	out, status := call(f)
	defer clear(out)
	if status < 0 {
		return Credentials{}, hostErr(out, status)
	}
	var c Credentials
	err := json.Unmarshal(out, &c)
	return c, err
}

func (wasmHost) Credentials() (Credentials, error) { return credentialsCall(hostCredentials) }

func (wasmHost) Refresh() (Credentials, error) { return credentialsCall(hostRefresh) }

func (wasmHost) StoreGet(key string) ([]byte, bool, error) {
	k := []byte(key)
	out, status := call(func(o, c uint32) int32 { return hostStoreGet(ptr(k), uint32(len(k)), o, c) })
	runtime.KeepAlive(k)
	switch {
	case status == StatusNotFound:
		return nil, false, nil
	case status < 0:
		return nil, false, hostErr(out, status)
	}
	return out, true, nil
}

func (wasmHost) StorePut(key string, value []byte) error {
	k := []byte(key)
	status := hostStorePut(ptr(k), uint32(len(k)), ptr(value), uint32(len(value)))
	runtime.KeepAlive(k)
	runtime.KeepAlive(value)
	if status < 0 {
		out, _ := call(func(o, c uint32) int32 { return hostResultRead(o, c) })
		return hostErr(out, status)
	}
	return nil
}

func (wasmHost) Log(level int, msg string) {
	b := []byte(msg)
	hostLog(uint32(level), ptr(b), uint32(len(b)))
	runtime.KeepAlive(b)
}
