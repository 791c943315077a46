using System.CommandLine;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Kannon.Api;
using Kannon.Hosting;
using AdminClient = Kannon.Protos.Admin.ApiV1.Api.ApiClient;
using MailerClient = Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient;
using StatsClient = Kannon.Protos.Stats.ApiV1.StatsApiV1.StatsApiV1Client;
using SuppressionClient = Kannon.Protos.Suppression.ApiV1.SuppressionApi.SuppressionApiClient;

namespace Kannon.Cli;

/// <summary>
/// One run of an operator command: a gRPC channel to the API, the clients, the output, and the translation of
/// every failure into one line on stderr and a non-zero exit (1: the API refused or could not be reached;
/// 2: the command itself was wrong). Never a stack trace.
/// </summary>
internal sealed class CliSession : IDisposable
{
    public const int Refused = 1;

    private readonly GrpcChannel _channel;
    private readonly string? _token;

    private CliSession(Uri address, string? token, TextWriter output, CancellationToken cancellationToken)
    {
        Address = address;
        _token = token;
        Output = output;
        CancellationToken = cancellationToken;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(10),
                EnableMultipleHttp2Connections = true,
            },
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
        });
    }

    public Uri Address { get; }

    private string AddressText => Address.GetLeftPart(UriPartial.Authority);

    public TextWriter Output { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>What an UNAUTHENTICATED answer means for this command (the operator token, or a domain's API key).</summary>
    public string Unauthenticated { get; set; } = "the operator token was refused (x-kannon-admin-token): check --token, KANNON_API__ADMIN_TOKEN or api.admin_token";

    public AdminClient Admin() => new(OperatorInvoker());

    public StatsClient Stats() => new(OperatorInvoker());

    public SuppressionClient Suppressions() => new(OperatorInvoker());

    public MailerClient Mailer(string domain, string key)
    {
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{domain}:{key}"));
        Unauthenticated = $"the API key was refused for domain '{domain}': check --key / KANNON_API_KEY and that the key belongs to that domain and is active";
        return new MailerClient(_channel.Intercept(metadata =>
        {
            metadata.Add(ApiKeyAuthenticator.Header, $"Basic {basic}");
            return metadata;
        }));
    }

    public Task WriteLineAsync(string line = "") => Output.WriteLineAsync(line);

    public void Dispose() => _channel.Dispose();

    /// <summary>Resolves the connection, runs <paramref name="body"/>, and turns every failure into one line on stderr.</summary>
    public static async Task<int> RunAsync(ParseResult parse, CliConnection connection, CancellationToken cancellationToken, Func<CliSession, Task<int>> body)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        CliSession? session = null;
        try
        {
            var (address, token) = connection.Resolve(parse);
            session = new CliSession(address, token, output, cancellationToken);
            return await body(session).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            return await KannonCommandLine.FailAsync(error, OneLine(e.Message)).ConfigureAwait(false);
        }
        catch (RpcException e) when (session is not null)
        {
            await error.WriteLineAsync($"kannon: {OneLine(session.Describe(e))}").ConfigureAwait(false);
            return Refused;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("kannon: cancelled").ConfigureAwait(false);
            return Refused;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return await KannonCommandLine.FailAsync(error, OneLine(e.Message)).ConfigureAwait(false);
        }
        finally
        {
            session?.Dispose();
        }
    }

    internal static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private string Describe(RpcException e)
    {
        var detail = e.Status.Detail;
        // The client's own failures (no connection, no HTTP/2) carry the exception that caused them;
        // a status the server sent does not.
        var cause = e.Status.DebugException;
        return e.StatusCode switch
        {
            StatusCode.Unavailable when cause is not null => $"cannot reach the Kannon API at {AddressText}: {Innermost(cause)}",
            StatusCode.Unavailable => $"the Kannon API at {AddressText} is unavailable: {detail}",
            StatusCode.Internal when cause is not null => $"cannot reach the Kannon API at {AddressText} (is it api.port of a process with --run-api?): {Innermost(cause)}",
            StatusCode.Unauthenticated => Unauthenticated,
            StatusCode.Unimplemented => $"the server at {AddressText} does not offer this call (is it a Kannon API, --run-api?): {detail}",
            StatusCode.Cancelled => "cancelled",
            StatusCode.DeadlineExceeded => $"the Kannon API at {AddressText} did not answer in time",
            _ => detail.Length > 0 ? detail : $"the Kannon API answered {e.StatusCode}",
        };
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    private CallInvoker OperatorInvoker() => _channel.Intercept(metadata =>
    {
        metadata.Add(AdminTokenInterceptor.Header, _token ?? "");
        return metadata;
    });
}
