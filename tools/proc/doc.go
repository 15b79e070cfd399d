// Package proc starts and stops the real components the chat runs on, on one machine: Pushpin
// (the GRIP proxy standing in for Fastly Fanout), DynamoDB Local and the Lambda Runtime Interface
// Emulator (RIE). Integration tests of every package and `make dev` use it.
//
// The tools come from `make deps` (scripts/deps.sh): Pushpin from Debian, DynamoDB Local and the RIE
// under .cache/ in the repository. [Available] reports the first one missing.
//
// Every server binds 127.0.0.1 (DynamoDB Local excepted: its jar has no host option and listens on all
// interfaces) and every process is started in its own process group and stopped by pid, its helpers
// included. The context given to a Start function bounds the start only; a component runs until Stop.
package proc
