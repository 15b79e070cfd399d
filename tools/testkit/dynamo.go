package testkit

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/wire"
)

// DynamoClient is a client for DynamoDB Local at endpoint with the region
// and credentials the functions use there (wire.LocalRegion,
// wire.LocalAccessKeyID): DynamoDB Local keeps one database per access key
// and region, so this client sees the functions' tables.
func DynamoClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       wire.LocalRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(wire.LocalAccessKeyID, wire.LocalSecretKey, ""),
		// DynamoDB Local's checksums do not always match (see
		// wire.NewDynamoClient).
		DisableValidateResponseChecksum: true,
	})
}
