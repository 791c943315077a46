using System.Reflection;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;

namespace Kannon.Api;

/// <summary>
/// Binds every gRPC service the way Grpc.AspNetCore's own binder does (through the generated <c>BindService</c>),
/// with one difference: a request body that is not valid protobuf (truncated, wrong wire types, nested past the
/// recursion limit, garbage) is refused with INVALID_ARGUMENT and protobuf's reason. Grpc.AspNetCore decodes a unary
/// request before any interceptor runs and answers a decoding failure with UNKNOWN "Exception was thrown by
/// handler.", which tells the caller nothing and looks like a server fault (ADR 0014).
/// </summary>
internal sealed class RequestDecodingServiceMethodProvider<TService> : IServiceMethodProvider<TService>
    where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        if (typeof(TService).GetCustomAttribute<BindServiceMethodAttribute>(inherit: true) is not { } bind)
        {
            return;   // not a generated service: nothing for this provider to bind
        }

        var bindMethod = bind.BindType.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Single(m => m.Name == bind.BindMethodName
                && m.GetParameters() is [var binder, var service]
                && binder.ParameterType == typeof(ServiceBinderBase)
                && service.ParameterType.IsAssignableFrom(typeof(TService)));
        var generatedBase = bindMethod.GetParameters()[1].ParameterType;
        // The generated BindService takes the instance only to make handlers; ours are made per call from TService.
        bindMethod.Invoke(null, [new Binder(context, generatedBase), null]);
    }

    /// <summary>The same method with a request marshaller that reports an undecodable body as INVALID_ARGUMENT.</summary>
    internal static Method<TRequest, TResponse> RefusingUndecodable<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        // SendHTML and SendTemplate keep their recipients encoded until intake reads them (ADR 0022).
        var decode = Mailer.RecipientPayloadDecoder.For<TRequest>() ?? method.RequestMarshaller.ContextualDeserializer;
        var request = new Marshaller<TRequest>(method.RequestMarshaller.ContextualSerializer, context =>
        {
            try
            {
                return decode(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"request is not a valid {typeof(TRequest).Name}: {e.Message}"));
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, request, method.ResponseMarshaller);
    }

    /// <summary>Receives the generated service's methods and adds each, with its implementation on <typeparamref name="TService"/>, as an endpoint.</summary>
    private sealed class Binder(ServiceMethodProviderContext<TService> context, Type generatedBase) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Implementation<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(ServerCallContext));
            context.AddUnaryMethod(RefusingUndecodable(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Implementation<ClientStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
            context.AddClientStreamingMethod(RefusingUndecodable(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Implementation<ServerStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddServerStreamingMethod(RefusingUndecodable(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Implementation<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddDuplexStreamingMethod(RefusingUndecodable(method), metadata, invoker);
        }

        /// <summary>
        /// The override of the generated base's virtual method nearest to <typeparamref name="TService"/> (the base's own,
        /// which answers UNIMPLEMENTED, when nobody overrides it), and the endpoint metadata Grpc.AspNetCore's binder gives it.
        /// </summary>
        private (TDelegate Invoker, List<object> Metadata) Implementation<TDelegate>(string name, params Type[] parameters)
            where TDelegate : Delegate
        {
            MethodInfo? implementation = null;
            for (var type = typeof(TService); type is not null && implementation is null; type = type.BaseType)
            {
                var candidate = type.GetMethod(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly, parameters);
                if (candidate is { IsVirtual: true } && candidate.GetBaseDefinition().DeclaringType == generatedBase)
                {
                    implementation = candidate;
                }
            }

            if (implementation is null)
            {
                throw new InvalidOperationException($"{typeof(TService).Name} has no implementation of {generatedBase.Name}.{name}");
            }

            var metadata = new List<object>();
            metadata.AddRange(typeof(TService).GetCustomAttributes(inherit: true));
            metadata.AddRange(implementation.GetCustomAttributes(inherit: true));
            metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
            return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), implementation), metadata);
        }
    }
}
