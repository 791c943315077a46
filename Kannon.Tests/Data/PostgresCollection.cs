namespace Kannon.Tests.Data;

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<TemporaryPostgres>
{
    public const string Name = "Postgres";
}
