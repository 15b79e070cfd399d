// Package apigw emulates an Amazon API Gateway HTTP API (payload format 2.0)
// in front of Lambda functions, driven by a SAM template.
//
// The routes come from the HttpApi events of the template's
// AWS::Serverless::Function resources, never from a second hand-kept list, so
// a route added to template.yaml is served without code changes. Each request
// is turned into an events.APIGatewayV2HTTPRequest the way API Gateway builds
// one, handed to a Function (the handler in-process, or the real bootstrap
// under the Lambda Runtime Interface Emulator), and the
// events.APIGatewayV2HTTPResponse is written back as API Gateway would.
//
// A function's environment is resolved from the template's Parameters and
// Globals plus a local override file in the format of
// `sam local --env-vars`.
package apigw
