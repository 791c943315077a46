using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Kannon.ApiKeys;
using Microsoft.Extensions.Logging;

namespace Kannon.Api;

/// <summary>
/// Authenticates every Mailer call by <c>authorization: Basic base64(domain:key)</c> and records the
/// <see cref="AuthenticatedSender"/> for the service (<see cref="AuthenticatedSenderExtensions.GetAuthenticatedSender"/>).
/// Whatever arrives, well-formed or not, is hashed and looked up, and every refusal carries the same status
/// and message, so neither timing nor wording tells a caller which part was wrong.
/// </summary>
internal sealed partial class ApiKeyAuthenticator(ApiKeyStore keys, ILogger<ApiKeyAuthenticator> logger) : Interceptor
{
    public const string Header = "authorization";
    public const string RefusalMessage = "invalid or wrong auth";

    private const string Scheme = "Basic ";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool Protects(string method) =>
        GrpcMethod.ServiceOf(method) == Protos.Mailer.ApiV1.Mailer.Descriptor.FullName;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        return await continuation(request, context).ConfigureAwait(false);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        await continuation(request, responseStream, context).ConfigureAwait(false);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
    }

    /// <summary>
    /// The (domain, key) pair of an authorization header. A malformed header becomes a pair with an empty domain,
    /// which no key has (the schema requires a canonical name), so it is refused by the same lookup as a wrong key.
    /// </summary>
    internal static (string Domain, string Key) Credentials(string? header)
    {
        if (header is null || !header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return ("", header ?? "");
        }

        string decoded;
        try
        {
            decoded = StrictUtf8.GetString(Convert.FromBase64String(header[Scheme.Length..].Trim()));
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException)
        {
            return ("", header);
        }

        // Exactly one colon, as the original: a key never contains one.
        var parts = decoded.Split(':');
        return parts.Length == 2 ? (parts[0], parts[1]) : ("", decoded);
    }

    private async Task AuthenticateAsync(ServerCallContext context)
    {
        if (!Protects(context.Method))
        {
            return;
        }

        var (domain, key) = Credentials(context.RequestHeaders.GetValue(Header));
        var found = await keys.AuthenticateAsync(domain, key, context.CancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            LogRefused(context.Method, domain);
            throw new RpcException(new Status(StatusCode.Unauthenticated, RefusalMessage));
        }

        context.SetAuthenticatedSender(new AuthenticatedSender(found.Domain, found.Id));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Method}: invalid or wrong auth (claimed domain '{Domain}')")]
    private partial void LogRefused(string method, string domain);
}
