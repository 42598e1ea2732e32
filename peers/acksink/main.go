// Command acksink is the sink of scripts/peer-bench.sh: an OTLP/gRPC trace endpoint that
// acknowledges every Export at once and counts its spans by walking the protobuf wire format
// (no messages are built), so that neither load tool is limited by the receiver. GET /count on
// the HTTP address answers "spans requests bytes".
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

var spans, requests, bytes atomic.Uint64

// raw is a gRPC codec that keeps request bodies as bytes and answers with an empty message.
type raw struct{}

func (raw) Marshal(any) ([]byte, error) { return nil, nil }

func (raw) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = data
	return nil
}

func (raw) Name() string { return "proto" }

// count returns how many length-delimited fields numbered `field` a message holds, applying
// `inner` to each when it is set and adding what it returns instead.
func count(b []byte, field protowire.Number, inner func([]byte) uint64) uint64 {
	var n uint64
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return n
		}
		b = b[l:]
		if num == field && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return n
			}
			if inner != nil {
				n += inner(v)
			} else {
				n++
			}
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(num, typ, b)
		if l < 0 {
			return n
		}
		b = b[l:]
	}
	return n
}

// spansIn counts ExportTraceServiceRequest.resource_spans[].scope_spans[].spans[].
func spansIn(req []byte) uint64 {
	scope := func(s []byte) uint64 { return count(s, 2, nil) }
	resource := func(r []byte) uint64 { return count(r, 2, scope) }
	return count(req, 1, resource)
}

func export(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var body []byte
	if err := dec(&body); err != nil {
		return nil, err
	}
	spans.Add(spansIn(body))
	requests.Add(1)
	bytes.Add(uint64(len(body)))
	return &body, nil
}

func main() {
	grpcAddr := flag.String("grpc", "127.0.0.1:0", "OTLP/gRPC listen address")
	httpAddr := flag.String("http", "127.0.0.1:0", "address of GET /count")
	flag.Parse()
	gl, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		log.Fatal(err)
	}
	hl, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Fatal(err)
	}
	server := grpc.NewServer(grpc.ForceServerCodec(raw{}))
	server.RegisterService(&grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: export}},
	}, struct{}{})
	http.HandleFunc("/count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%d %d %d\n", spans.Load(), requests.Load(), bytes.Load())
	})
	log.Printf("acksink: OTLP/gRPC on %s, counts on http://%s/count", gl.Addr(), hl.Addr())
	go func() { log.Fatal(http.Serve(hl, nil)) }()
	log.Fatal(server.Serve(gl))
}
