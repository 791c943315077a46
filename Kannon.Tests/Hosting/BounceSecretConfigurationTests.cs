using Kannon.Hosting;
using Kannon.Hosting.Configuration;

namespace Kannon.Tests.Hosting;

/// <summary>bounce.secret is required by the roles that sign (Dispatcher) and verify (SMTP) return paths, and by no other.</summary>
public sealed class BounceSecretConfigurationTests
{
    public static TheoryData<string?, string> MissingOrShort => new()
    {
        { null, "kannon: invalid configuration: bounce.secret: required by the Dispatcher and SMTP roles (at least 32 characters)" },
        { "only-twenty-chars-ok", "kannon: invalid configuration: bounce.secret: 20 characters is too short (at least 32)" },
    };

    [Theory]
    [MemberData(nameof(MissingOrShort))]
    public async Task The_dispatcher_and_the_smtp_server_refuse_to_start_without_a_long_enough_secret(string? secret, string line)
    {
        foreach (var roles in new[] { new Roles(Dispatcher: true), new Roles(Smtp: true) })
        {
            await using var app = Build(roles, secret);
            using var error = new StringWriter();

            (await ServerCommand.ValidateAsync(app, error)).Should().Be(2);
            error.ToString().Trim().Should().Be(line, "one line naming the key");
        }
    }

    [Fact]
    public async Task Roles_that_neither_sign_nor_verify_need_no_secret()
    {
        await using var app = Build(new Roles(Validator: true, Stats: true), secret: null);
        using var error = new StringWriter();

        (await ServerCommand.ValidateAsync(app, error)).Should().BeNull(error.ToString());
    }

    private static Microsoft.AspNetCore.Builder.WebApplication Build(Roles roles, string? secret) =>
        KannonHost.Build(KannonConfiguration.Build(null, new Dictionary<string, string?>
        {
            ["database_url"] = "postgres://kannon@127.0.0.1:1/none",
            ["nats_url"] = "nats://127.0.0.1:1",
            ["bounce:secret"] = secret,
        }), roles);
}
