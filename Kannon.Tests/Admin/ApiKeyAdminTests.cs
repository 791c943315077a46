using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Tests.Infrastructure;
using Npgsql;
using AdminApi = Kannon.Protos.Admin.ApiV1.Api;

namespace Kannon.Tests.Admin;

public sealed class ApiKeyAdminTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private AdminApi.ApiClient _admin = null!;

    public async Task InitializeAsync()
    {
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        _admin = _host.Admin();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_new_key_is_k_and_64_alphanumerics_returned_once_and_shown_masked()
    {
        var domain = await NewDomainAsync();
        var expiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30).AddTicks(7));

        var created = await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = " ci ", ExpiresAt = expiresAt });

        created.Key.Should().MatchRegex("^k_[A-Za-z0-9]{64}$");
        var key = created.ApiKey;
        key.Id.Should().MatchRegex("^key_[a-z2-7]{24}$");
        key.Key.Should().Be(created.Key[..8] + "...");
        key.Name.Should().Be("ci");
        key.Domain.Should().Be(domain);
        key.IsActive.Should().BeTrue();
        key.DeactivatedAt.Should().BeNull();
        key.CreatedAt.ToDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        key.ExpiresAt.ToDateTimeOffset().Should().BeCloseTo(expiresAt.ToDateTimeOffset(), TimeSpan.FromTicks(10));

        var got = (await _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domain, Id = key.Id })).ApiKey;
        got.Should().Be(key, "what creation returned is what is stored");
    }

    [Fact]
    public async Task Neither_plaintext_nor_hash_appears_in_any_response_after_creation()
    {
        var domain = await NewDomainAsync();
        var created = await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "scan" });
        var other = await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "other" });
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(created.Key)));

        IMessage[] responses =
        [
            created.ApiKey,
            await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain }),
            await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain, OnlyActive = true }),
            await _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domain, Id = created.ApiKey.Id }),
            await _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Domain = domain, Id = created.ApiKey.Id }),
            await _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Domain = domain, Id = created.ApiKey.Id }),
            await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain }),
            await _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domain, Id = other.ApiKey.Id }),
        ];

        string[] secrets = [created.Key, created.Key[8..], hash, hash.ToUpperInvariant(), other.Key, other.Key[8..]];
        foreach (var response in responses)
        {
            var bytes = response.ToByteArray();
            foreach (var secret in secrets)
            {
                bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)).Should().Be(-1, $"{response.Descriptor.Name} must not carry a secret");
            }

            bytes.AsSpan().IndexOf(Convert.FromHexString(hash)).Should().Be(-1, "nor the raw hash bytes");
        }
    }

    [Fact]
    public async Task The_plaintext_is_never_stored_only_its_hash_and_prefix()
    {
        var domain = await NewDomainAsync();
        var created = await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "stored" });

        var columns = new List<string>();
        await using (var command = postgres.DataSource.CreateCommand(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'api_keys' AND data_type IN ('text', 'character varying')"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                columns.Add(reader.GetString(0));
            }
        }

        columns.Should().Contain(["id", "name", "domain", "key_hash", "key_prefix"]);
        foreach (var column in columns)
        {
            await using var command = postgres.DataSource.CreateCommand($"SELECT count(*) FROM api_keys WHERE position($1 in \"{column}\") > 0");
            command.Parameters.Add(new NpgsqlParameter { Value = created.Key[8..] });
            ((long)(await command.ExecuteScalarAsync())!).Should().Be(0, $"api_keys.{column} must not hold the plaintext");
        }

        await using var row = postgres.DataSource.CreateCommand("SELECT key_hash, key_prefix FROM api_keys WHERE id = $1");
        row.Parameters.Add(new NpgsqlParameter { Value = created.ApiKey.Id });
        await using var stored = await row.ExecuteReaderAsync();
        (await stored.ReadAsync()).Should().BeTrue();
        stored.GetString(0).Should().Be(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(created.Key))));
        stored.GetString(1).Should().Be(created.Key[..8]);
    }

    [Fact]
    public async Task List_pages_keys_oldest_first_with_total_and_can_leave_out_deactivated_ones()
    {
        var domain = await NewDomainAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = $"k{i}" })).ApiKey.Id);
        }

        await _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Domain = domain, Id = ids[1] });
        await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = await NewDomainAsync(), Name = "elsewhere" });

        var all = await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain });
        var page = await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain, Limit = 2, Offset = 2 });
        var active = await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain, OnlyActive = true });

        all.Total.Should().Be(5);
        all.ApiKeys.Select(k => k.Id).Should().Equal(ids);
        all.ApiKeys.Should().OnlyContain(k => k.Key.EndsWith("...", StringComparison.Ordinal) && k.Key.Length == 11);
        page.Total.Should().Be(5);
        page.ApiKeys.Select(k => k.Id).Should().Equal(ids[2], ids[3]);
        active.Total.Should().Be(4);
        active.ApiKeys.Select(k => k.Id).Should().Equal(ids[0], ids[2], ids[3], ids[4]);
    }

    [Fact]
    public async Task Deactivation_is_irreversible_and_a_second_one_keeps_the_first_time()
    {
        var domain = await NewDomainAsync();
        var created = await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "once" });

        var first = (await _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Domain = domain, Id = created.ApiKey.Id })).ApiKey;
        var second = (await _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Domain = domain, Id = created.ApiKey.Id })).ApiKey;

        first.IsActive.Should().BeFalse();
        first.DeactivatedAt.Should().NotBeNull();
        second.Should().Be(first);
        (await _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domain, Id = created.ApiKey.Id })).ApiKey.Should().Be(first);
    }

    [Fact]
    public async Task A_key_of_another_domain_or_an_unknown_key_is_not_found()
    {
        var domainA = await NewDomainAsync();
        var domainB = await NewDomainAsync();
        var ofA = await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domainA, Name = "a" });

        await ShouldBe(StatusCode.NotFound, () => _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domainB, Id = ofA.ApiKey.Id }).ResponseAsync);
        await ShouldBe(StatusCode.NotFound, () => _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Domain = domainB, Id = ofA.ApiKey.Id }).ResponseAsync);
        await ShouldBe(StatusCode.NotFound, () => _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domainA, Id = "key_unknown" }).ResponseAsync);
        await ShouldBe(StatusCode.NotFound, () => _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = AdminClients.NewDomainName() }).ResponseAsync);
        (await _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domainA, Id = ofA.ApiKey.Id })).ApiKey.IsActive
            .Should().BeTrue("the refused deactivation through B changed nothing");
        (await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domainB })).Total.Should().Be(0);
    }

    [Fact]
    public async Task Malformed_key_requests_are_invalid_argument_naming_the_field()
    {
        var domain = await NewDomainAsync();
        var past = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1));

        await ShouldBeInvalid("expires_at", () => _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "old", ExpiresAt = past }).ResponseAsync);
        await ShouldBeInvalid("expires_at", () => _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "bad", ExpiresAt = new Timestamp { Seconds = 1, Nanos = -5 } }).ResponseAsync);
        await ShouldBeInvalid("name", () => _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain }).ResponseAsync);
        await ShouldBeInvalid("name", () => _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "   " }).ResponseAsync);
        await ShouldBeInvalid("name", () => _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = new string('n', 101) }).ResponseAsync);
        await ShouldBeInvalid("domain", () => _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Name = "x" }).ResponseAsync);
        await ShouldBeInvalid("domain", () => _admin.ListAPIKeysAsync(new ListAPIKeysRequest()).ResponseAsync);
        await ShouldBeInvalid("offset", () => _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain, Offset = -1 }).ResponseAsync);
        await ShouldBeInvalid("id", () => _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domain }).ResponseAsync);
        await ShouldBeInvalid("id", () => _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domain, Id = "k_abc" }).ResponseAsync);
        await ShouldBeInvalid("id", () => _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Domain = domain, Id = "abc" }).ResponseAsync);
        await ShouldBeInvalid("domain", () => _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Id = "key_abc" }).ResponseAsync);
        await ShouldBe(StatusCode.NotFound, () => _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = AdminClients.NewDomainName(), Name = "x" }).ResponseAsync);

        (await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain })).Total.Should().Be(0, "no refused call created a key");
        (await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = new string('n', 100) })).ApiKey.Name.Should().HaveLength(100);
    }

    private static async Task ShouldBe(StatusCode code, Func<Task> call) =>
        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(code);

    private static async Task ShouldBeInvalid(string field, Func<Task> call)
    {
        var refused = (await call.Should().ThrowAsync<RpcException>()).Which;
        refused.StatusCode.Should().Be(StatusCode.InvalidArgument);
        refused.Status.Detail.Should().StartWith(field + ": ");
    }

    private async Task<string> NewDomainAsync()
    {
        var name = AdminClients.NewDomainName();
        await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });
        return name;
    }
}
