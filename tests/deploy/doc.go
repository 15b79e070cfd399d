// Package deploy checks the deployment artifact with AWS's own tools and
// against the code: cfn-lint over template.yaml (settings and waivers in
// .cfnlintrc), the SAM transform of the template (aws-sam-translator, what
// CloudFormation runs) with its IAM policies, routes, log groups, alarms and
// the serverless-rules checks, and each function's IAM actions derived from
// the DynamoDB calls its code makes against DynamoDB Local.
//
// cfn-lint and aws-sam-translator come from the machine's python3 (the
// project's machines have cfn-lint 1.51 and aws-sam-translator 1.110); a
// missing one fails the tests with a message saying so.
package deploy
