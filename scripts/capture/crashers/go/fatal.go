// Unsynchronised map writes: the runtime's unrecoverable `fatal error: concurrent map writes`, exit 2.
package main

import "log"

func main() {
	log.Println("session cache warming")
	sessions := map[int]int{}
	for w := 0; w < 4; w++ {
		go func(w int) {
			for i := 0; ; i++ {
				sessions[i%1000] = w
			}
		}(w)
	}
	select {}
}
