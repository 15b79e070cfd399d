package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Names of the table's key attributes, its index and its TTL attribute. The
// SAM template must declare the same; a template check can compare against
// these and TableInput.
const (
	// AttrPK is the table's partition key (S).
	AttrPK = "pk"
	// AttrSK is the table's sort key (S).
	AttrSK = "sk"
	// AttrGSI1PK is the partition key (S) of the byUser index.
	AttrGSI1PK = "gsi1pk"
	// AttrGSI1SK is the sort key (S) of the byUser index.
	AttrGSI1SK = "gsi1sk"
	// AttrExpiresAt is the TTL attribute (N, Unix seconds).
	AttrExpiresAt = "expiresAt"
	// IndexByUser is the global secondary index of live messages by author.
	IndexByUser = "byUser"
)

// UserIndexProjection returns the non-key attributes projected into the
// byUser index (projection type INCLUDE): what ClearRoom needs to turn a
// user's messages into tombstones and drop their idempotency keys.
func UserIndexProjection() []string {
	return []string{attrID, attrAt, attrClientID, AttrExpiresAt}
}

// TableInput returns the one definition of the chat table: pk/sk strings,
// the byUser index on gsi1pk/gsi1sk, on-demand billing.
func TableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrSK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrGSI1PK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrGSI1SK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexByUser),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrGSI1PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrGSI1SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{
				ProjectionType:   types.ProjectionTypeInclude,
				NonKeyAttributes: UserIndexProjection(),
			},
		}},
	}
}

// TableAPI is the part of *dynamodb.Client that EnsureTable calls.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
}

// EnsureTable creates the table as TableInput defines it unless it exists,
// waits until it is ACTIVE and, when ttl is true, turns on TTL on expiresAt.
// It is for tests and the local stack; deployed tables come from the SAM
// template and Lambdas never create tables.
func EnsureTable(ctx context.Context, client TableAPI, name string, ttl bool) error {
	_, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
	case errors.As(err, &notFound):
		_, err = client.CreateTable(ctx, TableInput(name))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
	default:
		return fmt.Errorf("describe table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if !ttl {
		return nil
	}
	desc, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe ttl of table %s: %w", name, err)
	}
	if d := desc.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == types.TimeToLiveStatusEnabled &&
		aws.ToString(d.AttributeName) == AttrExpiresAt {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrExpiresAt),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on table %s: %w", name, err)
	}
	return nil
}
