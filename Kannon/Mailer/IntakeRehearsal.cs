using Kannon.ApiKeys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kannon.Mailer;

/// <summary>
/// Once, as the API starts (from <c>MapApi</c>, not a worker): an intake rehearsed in a transaction that is rolled back (<see cref="BatchIntake.RehearseAsync"/>)
/// and one API-key lookup that matches nothing, so that the first real SendHTML does not compile the intake's
/// database code and the key lookup's EF Core query (ADR 0019 did the same for the code that needs no database).
/// Best effort: a database that is not there yet is tried a few times, then left to the first caller.
/// </summary>
internal sealed partial class IntakeRehearsal(BatchIntake intake, IServiceScopeFactory scopes, ILogger<IntakeRehearsal> logger)
{
    private const int Attempts = 5;

    /// <summary>Never throws: started as the host starts, and left to run.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            try
            {
                await intake.RehearseAsync(stoppingToken).ConfigureAwait(false);
                await using var scope = scopes.CreateAsyncScope();
                _ = await scope.ServiceProvider.GetRequiredService<ApiKeyStore>()
                    .AuthenticateAsync("kannon-warm-up.invalid", "warm-up", stoppingToken).ConfigureAwait(false);
                LogRehearsed(logger);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Nothing depends on it: the first call compiles what this did not.
                LogNotRehearsed(logger, attempt, Attempts, e.Message);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2 * attempt), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Intake rehearsed (rolled back): its database code is compiled")]
    private static partial void LogRehearsed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Intake rehearsal {Attempt} of {Attempts} failed: {Reason}")]
    private static partial void LogNotRehearsed(ILogger logger, int attempt, int attempts, string reason);
}
