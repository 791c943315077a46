using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Kannon.Api;

/// <summary>
/// Cuts a refusal's message to <see cref="MaxDetailLength"/> characters. Messages quote what the caller sent
/// ("domain 'x' not found"), and a caller can send a 300 KB name: the message travels in the grpc-message trailer,
/// and a header block above the client's limit (64 KB in .NET) is an HTTP/2 connection error that fails every other
/// call on that connection too. Outermost interceptor, so every refusal passes through it.
/// </summary>
internal sealed class StatusDetailLimitInterceptor : Interceptor
{
    public const int MaxDetailLength = 1024;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.Status.Detail.Length > MaxDetailLength)
        {
            throw Shortened(e);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.Status.Detail.Length > MaxDetailLength)
        {
            throw Shortened(e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.Status.Detail.Length > MaxDetailLength)
        {
            throw Shortened(e);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.Status.Detail.Length > MaxDetailLength)
        {
            throw Shortened(e);
        }
    }

    internal static RpcException Shortened(RpcException e)
    {
        var detail = e.Status.Detail;
        var keep = MaxDetailLength - 40;
        if (char.IsHighSurrogate(detail[keep - 1]))
        {
            keep--;   // never split a surrogate pair: half of one is not encodable
        }

        var cut = $"{detail[..keep]}… ({detail.Length - keep} characters cut)";
        return new RpcException(new Status(e.StatusCode, cut), e.Trailers);
    }
}
