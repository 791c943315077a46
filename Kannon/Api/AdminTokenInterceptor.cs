using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kannon.Api;

/// <summary>
/// Lets a call to the operator services (Admin, both Stats APIs, Suppression) through only with the operator
/// token in <c>x-kannon-admin-token</c>. Every other service (Mailer, HZ, health, reflection) passes untouched.
/// </summary>
internal sealed partial class AdminTokenInterceptor : Interceptor
{
    public const string Header = "x-kannon-admin-token";
    public const string RefusalMessage = "missing or wrong operator token (x-kannon-admin-token)";

    private static readonly HashSet<string> ProtectedServices = new(StringComparer.Ordinal)
    {
        Protos.Admin.ApiV1.Api.Descriptor.FullName,
        Protos.Stats.ApiV1.StatsApiV1.Descriptor.FullName,
        Protos.Stats.ApiV2.StatsApiV2.Descriptor.FullName,
        Protos.Suppression.ApiV1.SuppressionApi.Descriptor.FullName,
    };

    private readonly byte[] _tokenHash;
    private readonly ILogger<AdminTokenInterceptor> _logger;

    public AdminTokenInterceptor(IOptions<ApiOptions> options, ILogger<AdminTokenInterceptor> logger)
    {
        // Options validation guarantees a token; comparing hashes makes the comparison length-independent.
        _tokenHash = HashOf(options.Value.AdminToken ?? "");
        _logger = logger;
    }

    public static bool Protects(string method) => ProtectedServices.Contains(GrpcMethod.ServiceOf(method));

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, responseStream, context);
    }

    private static byte[] HashOf(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token.Trim()));

    private void Authorize(ServerCallContext context)
    {
        if (!Protects(context.Method))
        {
            return;
        }

        var presented = context.RequestHeaders.GetValue(Header);
        if (presented is null || !CryptographicOperations.FixedTimeEquals(HashOf(presented), _tokenHash))
        {
            LogRefused(context.Method, presented is null ? "missing" : "wrong");
            throw new RpcException(new Status(StatusCode.Unauthenticated, RefusalMessage));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Method}: operator token {Reason}")]
    private partial void LogRefused(string method, string reason);
}
