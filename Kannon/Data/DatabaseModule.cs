using Kannon.Hosting;
using Kannon.Hosting.Embedded;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kannon.Data;

internal static class DatabaseModule
{
    /// <summary>The data source and DbContext, for modules that use PostgreSQL. Safe to call from several modules; the Sender never does.</summary>
    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(NpgsqlDataSource)))
        {
            return builder;
        }

        services.AddSingleton(sp => CreateDataSource(sp));
        services.AddDbContextPool<KannonDbContext>((sp, options) => options
            .UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>())
            .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking));
        services.TryAddSingleton<MigrationRunner>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        return builder;
    }

    private static NpgsqlDataSource CreateDataSource(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<KannonOptions>>().Value;
        var connectionString = options.EmbeddedDatabase
            ? sp.GetRequiredService<EmbeddedServers>().Postgres!.ConnectionString("postgres")
            : PostgresUrl.ToConnectionString(options.DatabaseUrl!);
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.ApplicationName ??= "kannon";
        builder.UseLoggerFactory(sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>());
        return builder.Build();
    }
}
