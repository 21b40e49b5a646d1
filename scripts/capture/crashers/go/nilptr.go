// A nil pointer dereference: `panic: runtime error: invalid memory address or nil pointer dereference`
// followed by `[signal SIGSEGV: segmentation violation ...]`, exit 2.
package main

import "log"

type config struct{ db *dbConfig }
type dbConfig struct{ url string }

func dsn(c *config) string {
	return c.db.url
}

func main() {
	log.Println("starting")
	log.Println(dsn(&config{}))
}
