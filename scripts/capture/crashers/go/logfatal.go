// log.Fatal: one LstdFlags line, then exit 1, no stack (the port is taken by the program itself).
package main

import (
	"log"
	"net"
)

func main() {
	log.Println("starting checkout on 127.0.0.1:18500")
	first, err := net.Listen("tcp", "127.0.0.1:18500")
	if err != nil {
		log.Fatal(err)
	}
	defer first.Close()
	if _, err := net.Listen("tcp", "127.0.0.1:18500"); err != nil {
		log.Fatal(err)
	}
}
