// Command echo is a tiny Lambda function for the proc RIE test: it answers with its input and
// the value of the ECHO_GREETING environment variable, and fails when asked to.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// request is the function's input.
type request struct {
	Message string `json:"message"`
	Fail    bool   `json:"fail"`
}

// response is the function's output.
type response struct {
	Echo     string `json:"echo"`
	Greeting string `json:"greeting"`
}

func handle(_ context.Context, req request) (response, error) {
	if req.Fail {
		return response{}, errors.New("echo: asked to fail")
	}
	return response{Echo: req.Message, Greeting: os.Getenv("ECHO_GREETING")}, nil
}

func main() {
	lambda.Start(handle)
}
