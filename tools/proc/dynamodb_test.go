package proc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dynamoClient returns an SDK client for d with static local credentials.
func dynamoClient(d *DynamoDB) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(d.Endpoint()),
	})
}

// startTestDynamo starts DynamoDB Local for cfg and returns a stop function that reports errors.
func startTestDynamo(t *testing.T, cfg DynamoConfig) (*DynamoDB, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg.Log = testLog(t, "dynamodb")
	d, err := StartDynamoDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(stop)
	return d, stop
}

// createTable creates a table with a string hash key "pk".
func createTable(ctx context.Context, t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
}

// tableNames lists the tables c sees.
func tableNames(ctx context.Context, t *testing.T, c *dynamodb.Client) []string {
	t.Helper()
	out, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	return out.TableNames
}

func TestDynamoDBInMemory(t *testing.T) {
	t.Parallel()
	requireTools(t)
	d, _ := startTestDynamo(t, DynamoConfig{})
	ctx := t.Context()
	c := dynamoClient(d)
	if got := tableNames(ctx, t, c); len(got) != 0 {
		t.Fatalf("fresh in-memory DynamoDB Local has tables %v", got)
	}
	createTable(ctx, t, c, "chat")
	// -sharedDb: a client with other credentials and region sees the same tables.
	other := dynamodb.New(dynamodb.Options{
		Region:       "eu-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider("other", "other", ""),
		BaseEndpoint: aws.String(d.Endpoint()),
	})
	if got := tableNames(ctx, t, other); !slices.Equal(got, []string{"chat"}) {
		t.Errorf("tables seen with other credentials = %v, want [chat]", got)
	}
}

func TestDynamoDBDataDirPersists(t *testing.T) {
	t.Parallel()
	requireTools(t)
	dir := t.TempDir()
	ctx := t.Context()

	d1, stop1 := startTestDynamo(t, DynamoConfig{DataDir: dir})
	createTable(ctx, t, dynamoClient(d1), "kept")
	port := d1.Config().Port
	stop1()

	d2, _ := startTestDynamo(t, DynamoConfig{DataDir: dir, Port: port})
	if got := tableNames(ctx, t, dynamoClient(d2)); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("tables after restart on %s = %v, want [kept]", dir, got)
	}
}
