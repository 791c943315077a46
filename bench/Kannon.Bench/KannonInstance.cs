using System.Globalization;
using System.Text;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using AdminClient = Kannon.Protos.Admin.ApiV1.Api.ApiClient;
using MailerClient = Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient;

namespace Kannon.Bench;

/// <summary>
/// One fresh `kannon --run-all` (its own data dir with embedded PostgreSQL and NATS, DKIM RSA-2048, tracking
/// and stats on) with the bench's sender domain and API key created; disposing stops it and removes its data.
/// </summary>
internal sealed class KannonInstance : IAsyncDisposable
{
    private const string AdminToken = "bench-admin-token-0123456789";

    private readonly string _workDir;
    private static readonly Grpc.Core.Method<byte[], SendRes> EncodedSendHtml = new(Grpc.Core.MethodType.Unary,
        Kannon.Protos.Mailer.ApiV1.Mailer.Descriptor.FullName, "SendHTML",
        Grpc.Core.Marshallers.Create(bytes => bytes, bytes => bytes),
        Grpc.Core.Marshallers.Create(Google.Protobuf.MessageExtensions.ToByteArray, SendRes.Parser.ParseFrom));

    private GrpcChannel? _channel;
    private Grpc.Core.CallInvoker? _mailerInvoker;

    private KannonInstance(string workDir, KannonUnderTest process)
    {
        _workDir = workDir;
        Process = process;
    }

    public KannonUnderTest Process { get; }

    public MailerClient Mailer { get; private set; } = null!;

    public string Log => Path.Combine(_workDir, "kannon.log");

    /// <summary>Starts kannon delivering every MX on <paramref name="senderPort"/>, resolving through <paramref name="dns"/>.</summary>
    public static async Task<KannonInstance> StartAsync(string executable, int senderPort, string dns, int senderJobs, CancellationToken cancellationToken)
    {
        if (!File.Exists(executable))
        {
            throw new FileNotFoundException($"kannon executable not found at {executable}; build it or pass --kannon PATH");
        }

        var workDir = Directory.CreateTempSubdirectory("kannon-bench-").FullName;
        var http = ChildProcess.FreePort();
        var api = ChildProcess.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["KANNON_DATA_DIR"] = workDir,
            ["KANNON_API__PORT"] = api.ToString(CultureInfo.InvariantCulture),
            ["KANNON_API__ADMIN_TOKEN"] = AdminToken,
            ["KANNON_HTTP__PORT"] = http.ToString(CultureInfo.InvariantCulture),
            ["KANNON_SMTP__ADDRESS"] = $"127.0.0.1:{ChildProcess.FreePort()}",
            ["KANNON_SENDER__PORT"] = senderPort.ToString(CultureInfo.InvariantCulture),
            ["KANNON_SENDER__DNS_SERVERS__0"] = dns,
            ["KANNON_SENDER__HOSTNAME"] = "bench.kannon.local",
            ["KANNON_SENDER__MAX_JOBS"] = senderJobs.ToString(CultureInfo.InvariantCulture),
            ["KANNON_TRACKER__BASE_URL"] = "https://track.bench.example",
        };
        var instance = new KannonInstance(workDir, KannonUnderTest.Start(executable, environment, Path.Combine(workDir, "kannon.log")));
        try
        {
            await instance.ConnectAsync(http, api, cancellationToken).ConfigureAwait(false);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ConnectAsync(int http, int api, CancellationToken cancellationToken)
    {
        await WaitReadyAsync(http, TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{api}", new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
        var admin = new AdminClient(_channel.Intercept(m => { m.Add("x-kannon-admin-token", AdminToken); return m; }));
        await admin.CreateDomainAsync(new CreateDomainRequest { Domain = BenchMessage.SenderDomain }, cancellationToken: cancellationToken);
        var key = await admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = BenchMessage.SenderDomain, Name = "bench" }, cancellationToken: cancellationToken);
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{BenchMessage.SenderDomain}:{key.Key}"));
        _mailerInvoker = _channel.Intercept(m => { m.Add("authorization", $"Basic {basic}"); return m; });
        Mailer = new MailerClient(_mailerInvoker);
    }

    /// <summary>
    /// One SendHTML call whose request was encoded beforehand (<see cref="Google.Protobuf.MessageExtensions.ToByteArray"/>),
    /// so the timed call is Kannon's intake and the transfer, not this client encoding 100,000 recipients on the same
    /// two cores; throws unless every recipient was accepted.
    /// </summary>
    public async Task SendEncodedAllAcceptedAsync(byte[] request, int recipients, TimeSpan within, CancellationToken cancellationToken)
    {
        var response = await _mailerInvoker!.AsyncUnaryCall(EncodedSendHtml, null,
            new Grpc.Core.CallOptions(deadline: DateTime.UtcNow + within, cancellationToken: cancellationToken), request);
        if (response.AcceptedCount != recipients)
        {
            throw new InvalidOperationException($"kannon accepted {response.AcceptedCount} of {recipients} recipients");
        }
    }

    /// <summary>One SendHTML call; throws unless every recipient was accepted.</summary>
    public async Task SendAllAcceptedAsync(SendHTMLReq request, TimeSpan within, CancellationToken cancellationToken)
    {
        var response = await Mailer.SendHTMLAsync(request, deadline: DateTime.UtcNow + within, cancellationToken: cancellationToken);
        if (response.AcceptedCount != request.Recipients.Count)
        {
            throw new InvalidOperationException($"kannon accepted {response.AcceptedCount} of {request.Recipients.Count} recipients");
        }
    }

    private async Task WaitReadyAsync(int port, TimeSpan within, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"kannon exited during start; see {Log}");
            }

            try
            {
                if ((await client.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz"), cancellationToken).ConfigureAwait(false)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"kannon did not become ready; see {Log}");
    }

    /// <summary>Set when a phase failed: the log then outlives the data dir, for reading.</summary>
    public bool KeepLog { get; set; }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        await Process.DisposeAsync().ConfigureAwait(false);
        if (KeepLog && File.Exists(Log))
        {
            var kept = Path.Combine(Path.GetTempPath(), $"kannon-bench-{Process.Pid}.log");
            File.Copy(Log, kept, overwrite: true);
            Console.Error.WriteLine($"bench: kannon's log kept at {kept}");
        }

        try
        {
            Directory.Delete(_workDir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"bench: could not remove {_workDir}: {e.Message}");
        }
    }
}
