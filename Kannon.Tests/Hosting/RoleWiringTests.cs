using Kannon.Data;
using Kannon.Hosting;
using Kannon.Hosting.Configuration;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Kannon.Tests.Hosting;

public sealed class RoleWiringTests
{
    public static TheoryData<string, string> RoleModules => new()
    {
        { "api", "Api" },
        { "smtp", "Smtp" },
        { "sender", "Sender" },
        { "dispatcher", "Dispatcher" },
        { "validator", "Validator" },
        { "stats", "Stats" },
        { "tracker", "Tracking" },
    };

    [Theory]
    [MemberData(nameof(RoleModules))]
    public async Task Each_role_registers_its_own_module_and_no_other(string role, string moduleNamespace)
    {
        await using var app = Build(RoleFrom(role));

        var hosted = app.Services.GetServices<IHostedService>().Select(s => s.GetType().Namespace!).ToList();
        var kannonModules = hosted.Where(n => n.StartsWith("Kannon.", StringComparison.Ordinal) && !n.StartsWith("Kannon.Hosting", StringComparison.Ordinal)).Distinct().ToList();

        if (role == "api")
        {
            kannonModules.Should().BeEmpty("the API is gRPC services, not a worker");
        }
        else
        {
            kannonModules.Should().Equal($"Kannon.{moduleNamespace}");
        }

        // The API's own services exist only in a process that runs it.
        (app.Services.GetService<Kannon.Mailer.BatchIntake>() is not null).Should().Be(role == "api");
        (app.Services.GetService<Kannon.Api.AdminTokenInterceptor>() is not null).Should().Be(role == "api");
    }

    [Fact]
    public async Task The_sender_role_has_no_database_in_its_container()
    {
        await using var app = Build(new Roles(Sender: true));

        app.Services.GetService<NpgsqlDataSource>().Should().BeNull();
        app.Services.GetService<KannonDbContext>().Should().BeNull();
        app.Services.GetService<DbContextOptions<KannonDbContext>>().Should().BeNull();
    }

    [Theory]
    [InlineData("api")]
    [InlineData("smtp")]
    [InlineData("dispatcher")]
    [InlineData("validator")]
    [InlineData("stats")]
    [InlineData("tracker")]
    public async Task Roles_that_store_data_have_the_database(string role)
    {
        await using var app = Build(RoleFrom(role));

        app.Services.GetService<NpgsqlDataSource>().Should().NotBeNull();
    }

    [Fact]
    public async Task Run_all_registers_every_module()
    {
        await using var app = Build(Roles.All);

        var namespaces = app.Services.GetServices<IHostedService>().Select(s => s.GetType().Namespace).ToHashSet();
        namespaces.Should().Contain(["Kannon.Smtp", "Kannon.Sender", "Kannon.Dispatcher", "Kannon.Validator", "Kannon.Stats", "Kannon.Tracking"]);
    }

    private static Roles RoleFrom(string role) => role switch
    {
        "api" => new Roles(Api: true),
        "smtp" => new Roles(Smtp: true),
        "sender" => new Roles(Sender: true),
        "dispatcher" => new Roles(Dispatcher: true),
        "validator" => new Roles(Validator: true),
        "stats" => new Roles(Stats: true),
        "tracker" => new Roles(Tracker: true),
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    // Built, never started: the wiring is what is checked, so the stores can be unreachable.
    private static Microsoft.AspNetCore.Builder.WebApplication Build(Roles roles) =>
        KannonHost.Build(KannonConfiguration.Build(null, new Dictionary<string, string?>
        {
            ["database_url"] = "postgres://kannon@127.0.0.1:1/none",
            ["nats_url"] = "nats://127.0.0.1:1",
            ["api:admin_token"] = "wiring-test-token-0123456789",
            ["bounce:secret"] = "wiring-test-bounce-secret-0123456789abc",
        }), roles);
}
