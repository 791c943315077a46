using Grpc.Core;

namespace Kannon.Tests.Reliability;

/// <summary>One gRPC call with a raw request body: the bytes go on the wire as given, whatever the method's request type.</summary>
internal sealed record FuzzCall(IMethod Method, byte[] Body, Metadata Headers, string Description)
{
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(bytes => bytes, bytes => bytes);

    /// <summary>
    /// The status the server ended the call with. A streaming call counts as OK once the server answered one message
    /// (health's Watch never ends by itself). A deadline passing is a hang, and comes back as DEADLINE_EXCEEDED.
    /// </summary>
    public static async Task<Status> InvokeAsync(CallInvoker invoker, IMethod method, byte[] body, Metadata headers, TimeSpan deadline)
    {
        var raw = new Method<byte[], byte[]>(method.Type, method.ServiceName, method.Name, Raw, Raw);
        var options = new CallOptions(headers, DateTime.UtcNow.Add(deadline));
        try
        {
            switch (method.Type)
            {
                case MethodType.Unary:
                    await invoker.AsyncUnaryCall(raw, null, options, body);
                    return Status.DefaultSuccess;
                case MethodType.ServerStreaming:
                {
                    using var call = invoker.AsyncServerStreamingCall(raw, null, options, body);
                    return await call.ResponseStream.MoveNext() ? Status.DefaultSuccess : call.GetStatus();
                }

                case MethodType.ClientStreaming:
                {
                    using var call = invoker.AsyncClientStreamingCall(raw, null, options);
                    await WriteAsync(call.RequestStream, body);
                    await call.ResponseAsync;
                    return Status.DefaultSuccess;
                }

                default:
                {
                    using var call = invoker.AsyncDuplexStreamingCall(raw, null, options);
                    await WriteAsync(call.RequestStream, body);
                    while (await call.ResponseStream.MoveNext())
                    {
                    }

                    return call.GetStatus();
                }
            }
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }

    /// <summary>
    /// Writes the one request message and ends the request stream. The server may end the call before it has read
    /// everything (a message above its limit); then the write fails and the server's status comes with the response.
    /// </summary>
    private static async Task WriteAsync(IClientStreamWriter<byte[]> requests, byte[] body)
    {
        try
        {
            await requests.WriteAsync(body);
            await requests.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
        {
        }
    }
}
