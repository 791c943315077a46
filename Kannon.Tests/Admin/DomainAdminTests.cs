using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Kannon.Data;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Tracking.Types;
using Kannon.Tests.Infrastructure;
using Npgsql;
using AdminApi = Kannon.Protos.Admin.ApiV1.Api;

namespace Kannon.Tests.Admin;

public sealed class DomainAdminTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private AdminApi.ApiClient _admin = null!;

    public static TheoryData<string, string> NonCanonicalNames => new()
    {
        { "Example.com", "lower-case" },
        { "localhost", "two labels" },
        { "", "required" },
        { "a..example.com", "empty label" },
        { ".example.com", "empty label" },
        { "exa mple.com", "may only contain" },
        { "ex@mple.com", "may only contain" },
        { "bücher.de", "may only contain" },
        { string.Join('.', Enumerable.Repeat(new string('a', 63), 4)), "at most 254" },
        { new string('a', 64) + ".com", "at most 63" },
    };

    public async Task InitializeAsync()
    {
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        _admin = _host.Admin();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Create_domain_returns_the_domain_its_dkim_public_key_and_the_default_tracking_ceiling()
    {
        var name = AdminClients.NewDomainName();

        var domain = await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        domain.Domain_.Should().Be(name);
        domain.DkimPubKey.Should().NotBeNullOrEmpty();
        domain.Tracking.Opens.Should().Be(TrackingMode.Identified);
        domain.Tracking.Links.Should().Be(TrackingMode.Identified);
        (await _admin.GetDomainAsync(new GetDomainReq { Domain = name })).Domain.Should().Be(domain);
    }

    [Fact]
    public async Task The_dkim_public_key_is_rsa_2048_and_verifies_what_the_stored_private_key_signs()
    {
        var name = AdminClients.NewDomainName();
        var domain = await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        await using var command = postgres.DataSource.CreateCommand(
            "SELECT selector, algorithm, private_key, public_key FROM dkim_keys WHERE domain = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue();
        reader.GetString(0).Should().Be("kannon");
        reader.GetString(1).Should().Be("rsa-sha256");
        var privateKey = reader.GetString(2);
        reader.GetString(3).Should().Be(domain.DkimPubKey);
        (await reader.ReadAsync()).Should().BeFalse("a new domain has exactly one key");

        using var signer = RSA.Create();
        signer.ImportRSAPrivateKey(Convert.FromBase64String(privateKey), out _);
        using var verifier = RSA.Create();
        verifier.ImportSubjectPublicKeyInfo(Convert.FromBase64String(domain.DkimPubKey), out var read);
        read.Should().Be(Convert.FromBase64String(domain.DkimPubKey).Length, "the value is exactly one SPKI structure");
        verifier.KeySize.Should().Be(2048);

        var data = Encoding.ASCII.GetBytes("dkim-signature: v=1; a=rsa-sha256; d=" + name);
        var signature = signer.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        verifier.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).Should().BeTrue();
    }

    [Fact]
    public async Task Creating_a_domain_twice_is_already_exists_and_keeps_the_first_key()
    {
        var name = AdminClients.NewDomainName();
        var first = await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        var again = async () => await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        (await again.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.AlreadyExists);
        (await _admin.GetDomainAsync(new GetDomainReq { Domain = name })).Domain.DkimPubKey.Should().Be(first.DkimPubKey);
    }

    [Theory]
    [MemberData(nameof(NonCanonicalNames))]
    public async Task A_domain_name_that_is_not_canonical_is_invalid_argument_naming_the_field(string name, string explanation)
    {
        var create = async () => await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });
        var get = async () => await _admin.GetDomainAsync(new GetDomainReq { Domain = name });

        foreach (var call in new Func<Task>[] { create, get })
        {
            var refused = (await call.Should().ThrowAsync<RpcException>()).Which;
            refused.StatusCode.Should().Be(StatusCode.InvalidArgument);
            refused.Status.Detail.Should().StartWith("domain: ").And.Contain(explanation);
        }
    }

    [Fact]
    public async Task The_longest_canonical_name_is_accepted()
    {
        var name = string.Join('.', Enumerable.Repeat(new string('a', 63), 3)) + "." + RandomId.Next() + new string('b', 34) + ".com";
        name.Should().HaveLength(254);

        var created = await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        created.Domain_.Should().Be(name);
    }

    [Fact]
    public async Task Get_domain_of_an_unknown_domain_is_not_found()
    {
        var get = async () => await _admin.GetDomainAsync(new GetDomainReq { Domain = AdminClients.NewDomainName() });

        (await get.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);
    }

    [Fact]
    public async Task Get_domains_lists_every_domain_in_name_order()
    {
        var suffix = AdminClients.NewDomainName("list");
        string[] names = [$"b.{suffix}", $"a-z.{suffix}", $"a.{suffix}", $"a_b.{suffix}", $"c9.{suffix}"];
        foreach (var name in names)
        {
            await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });
        }

        var listed = (await _admin.GetDomainsAsync(new GetDomainsReq())).Domains;

        var ours = listed.Where(d => d.Domain_.EndsWith(suffix, StringComparison.Ordinal)).ToList();
        ours.Select(d => d.Domain_).Should().Equal(names.Order(StringComparer.Ordinal));
        ours.Should().OnlyContain(d => d.DkimPubKey.Length > 0);
        listed.Select(d => d.Domain_).Should().BeInAscendingOrder(StringComparer.Ordinal);
    }

    [Fact]
    public async Task Set_tracking_policy_changes_only_the_axes_it_states()
    {
        var name = AdminClients.NewDomainName();
        await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        var opensOff = await _admin.SetTrackingPolicyAsync(new SetTrackingPolicyReq
        {
            Domain = name,
            Tracking = new TrackingPolicy { Opens = TrackingMode.Off },
        });
        var linksFull = await _admin.SetTrackingPolicyAsync(new SetTrackingPolicyReq
        {
            Domain = name,
            Tracking = new TrackingPolicy { Links = TrackingMode.Full },
        });

        opensOff.Domain.Tracking.Should().Be(new TrackingPolicy { Opens = TrackingMode.Off, Links = TrackingMode.Identified });
        linksFull.Domain.Tracking.Should().Be(new TrackingPolicy { Opens = TrackingMode.Off, Links = TrackingMode.Full });
        (await _admin.GetDomainAsync(new GetDomainReq { Domain = name })).Domain.Tracking.Should().Be(linksFull.Domain.Tracking);
        await using var command = postgres.DataSource.CreateCommand("SELECT tracking::text FROM domains WHERE domain = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        ((string)(await command.ExecuteScalarAsync())!).Should().Be("""{"links": "full", "opens": "off"}""");
    }

    [Fact]
    public async Task Set_tracking_policy_refuses_an_unknown_mode_a_missing_policy_and_an_unknown_domain()
    {
        var name = AdminClients.NewDomainName();
        await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        var unknownMode = async () => await _admin.SetTrackingPolicyAsync(new SetTrackingPolicyReq
        {
            Domain = name,
            Tracking = new TrackingPolicy { Opens = TrackingMode.Anonymous, Links = (TrackingMode)42 },
        });
        var noPolicy = async () => await _admin.SetTrackingPolicyAsync(new SetTrackingPolicyReq { Domain = name });
        var noDomain = async () => await _admin.SetTrackingPolicyAsync(new SetTrackingPolicyReq
        {
            Domain = AdminClients.NewDomainName(),
            Tracking = new TrackingPolicy { Opens = TrackingMode.Off },
        });

        var refused = (await unknownMode.Should().ThrowAsync<RpcException>()).Which;
        refused.StatusCode.Should().Be(StatusCode.InvalidArgument);
        refused.Status.Detail.Should().StartWith("tracking.links: ").And.Contain("42");
        (await noPolicy.Should().ThrowAsync<RpcException>()).Which.Status.Detail.Should().StartWith("tracking: ");
        (await noDomain.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);
        (await _admin.GetDomainAsync(new GetDomainReq { Domain = name })).Domain.Tracking.Opens
            .Should().Be(TrackingMode.Identified, "a refused call changes nothing");
    }

    [Fact]
    public async Task A_new_domain_hosts_unsubscribe_and_set_unsubscribe_policy_switches_it_off_and_back()
    {
        var name = AdminClients.NewDomainName();
        var created = await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        var off = await _admin.SetUnsubscribePolicyAsync(new SetUnsubscribePolicyReq { Domain = name, Unsubscribe = "off" });
        var afterOff = (await _admin.GetDomainAsync(new GetDomainReq { Domain = name })).Domain;
        var hosted = await _admin.SetUnsubscribePolicyAsync(new SetUnsubscribePolicyReq { Domain = name, Unsubscribe = "hosted" });

        created.Unsubscribe.Should().Be("hosted");
        off.Domain.Unsubscribe.Should().Be("off");
        afterOff.Unsubscribe.Should().Be("off");
        afterOff.Tracking.Opens.Should().Be(TrackingMode.Identified, "the tracking ceiling is another setting");
        hosted.Domain.Unsubscribe.Should().Be("hosted");
        await using var command = postgres.DataSource.CreateCommand("SELECT unsubscribe FROM domains WHERE domain = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        ((string)(await command.ExecuteScalarAsync())!).Should().Be("hosted");
    }

    [Fact]
    public async Task Set_unsubscribe_policy_refuses_an_unknown_value_and_an_unknown_domain()
    {
        var name = AdminClients.NewDomainName();
        await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });

        var unknownValue = async () => await _admin.SetUnsubscribePolicyAsync(new SetUnsubscribePolicyReq { Domain = name, Unsubscribe = "Off" });
        var empty = async () => await _admin.SetUnsubscribePolicyAsync(new SetUnsubscribePolicyReq { Domain = name });
        var noDomain = async () => await _admin.SetUnsubscribePolicyAsync(new SetUnsubscribePolicyReq { Domain = AdminClients.NewDomainName(), Unsubscribe = "off" });

        var refused = (await unknownValue.Should().ThrowAsync<RpcException>()).Which;
        refused.StatusCode.Should().Be(StatusCode.InvalidArgument);
        refused.Status.Detail.Should().StartWith("unsubscribe: ").And.Contain("hosted, off");
        (await empty.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.InvalidArgument);
        (await noDomain.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);
        (await _admin.GetDomainAsync(new GetDomainReq { Domain = name })).Domain.Unsubscribe.Should().Be("hosted", "a refused call changes nothing");
    }
}
