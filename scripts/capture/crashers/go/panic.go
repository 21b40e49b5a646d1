// A panic in a worker goroutine: `panic: runtime error: index out of range [1] with length 1`, exit 2.
package main

import "log"

type job struct{ items []string }

func process(j job) string {
	return j.items[1]
}

func main() {
	log.Println("checkout listening on 127.0.0.1:18500")
	done := make(chan string)
	go func() { done <- process(job{items: []string{"a"}}) }()
	log.Println(<-done)
}
