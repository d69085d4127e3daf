// Command portsgo loads a ports file the way the Go solutions of the ports assignment do: encoding/json's
// streaming Decoder over a buffered reader, one Decode per record into a struct, upserted into a map.
// It is the reference keyport's parser is measured against (Benchmarks/ports/run.sh).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

type Port struct {
	Name        string    `json:"name"`
	City        string    `json:"city"`
	Country     string    `json:"country"`
	Alias       []string  `json:"alias"`
	Regions     []string  `json:"regions"`
	Coordinates []float64 `json:"coordinates"`
	Province    string    `json:"province"`
	Timezone    string    `json:"timezone"`
	Unlocs      []string  `json:"unlocs"`
	Code        string    `json:"code"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: portsgo FILE")
		os.Exit(2)
	}
	start := time.Now()
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64*1024))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		fmt.Fprintln(os.Stderr, "expected a JSON object:", err)
		os.Exit(1)
	}
	ports := make(map[string]Port)
	parsed := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			fmt.Fprintln(os.Stderr, "offset", dec.InputOffset(), err)
			os.Exit(1)
		}
		id, _ := tok.(string)
		var p Port
		if err := dec.Decode(&p); err != nil {
			fmt.Fprintln(os.Stderr, "offset", dec.InputOffset(), "record", id, err)
			os.Exit(1)
		}
		ports[id] = p
		parsed++
	}
	if _, err := dec.Token(); err != nil {
		fmt.Fprintln(os.Stderr, "offset", dec.InputOffset(), err)
		os.Exit(1)
	}
	elapsed := time.Since(start)
	fmt.Printf("go encoding/json: %d records kept (%d parsed) in %.3f s\n", len(ports), parsed, elapsed.Seconds())
}
