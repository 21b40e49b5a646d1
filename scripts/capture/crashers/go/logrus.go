// logrus Fatal, then exit 1: with the text formatter (no TTY: `time="..." level=fatal msg="..."`), or with
// the JSON formatter when the first argument is `json`.
package main

import (
	"net"
	"os"

	"github.com/sirupsen/logrus"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "json" {
		logrus.SetFormatter(&logrus.JSONFormatter{})
	}
	logrus.WithField("addr", "127.0.0.1:18501").Info("connecting to database")
	if _, err := net.Dial("tcp", "127.0.0.1:18501"); err != nil {
		logrus.WithError(err).Fatal("cannot connect to database")
	}
}
