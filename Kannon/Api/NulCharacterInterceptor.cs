using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Kannon.Api;

/// <summary>
/// Refuses a request with a NUL character (U+0000) in any of its strings, at any depth, with INVALID_ARGUMENT naming the
/// field. PostgreSQL stores no NUL in text (22021) nor in jsonb (22P05), so such a request would otherwise get as far as
/// the insert and fail there as UNKNOWN; and no mail header, address or body has a use for one (RFC 5322 forbids it).
/// Innermost interceptor: a caller that is not authenticated learns nothing about its request.
/// </summary>
internal sealed class NulCharacterInterceptor : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(request);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(request);
        return continuation(request, responseStream, context);
    }

    /// <summary>The path of the first string holding a NUL (<c>recipients[1].fields["name"]</c>), or null.</summary>
    internal static string? FindNul(IMessage message, string prefix = "")
    {
        // The path is built only for a request that has a NUL: naming every field of 100,000 recipients on the way
        // cost a SendHTML of that size ~60 MB of garbage and a few hundred ms.
        return ContainsNul(message) ? PathOfNul(message, prefix) : null;
    }

    private static bool ContainsNul(IMessage message)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (field.FieldType is not (FieldType.String or FieldType.Message or FieldType.Group) && !field.IsMap)
            {
                continue;   // numbers, booleans, enums and bytes hold no text (and reading them would box)
            }

            var found = field.Accessor.GetValue(message) switch
            {
                IEnumerable<KeyValuePair<string, string>> map => ContainsNul(map),
                System.Collections.IDictionary map => ContainsNul(map),
                System.Collections.IList list => ContainsNul(list),
                string text => text.Contains('\0', StringComparison.Ordinal),
                IMessage nested => ContainsNul(nested),
                _ => false,
            };
            if (found)
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsNul(IEnumerable<KeyValuePair<string, string>> map)
    {
        foreach (var (key, value) in map)
        {
            if (key.Contains('\0', StringComparison.Ordinal) || value.Contains('\0', StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsNul(System.Collections.IDictionary map)
    {
        foreach (System.Collections.DictionaryEntry entry in map)
        {
            if (HasNul(entry.Key) || HasNul(entry.Value) || (entry.Value is IMessage nested && ContainsNul(nested)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsNul(System.Collections.IList list)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var item = list[i];
            if (item is IMessage nested ? ContainsNul(nested) : HasNul(item))
            {
                return true;
            }
        }

        return false;
    }

    private static string? PathOfNul(IMessage message, string prefix)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var path = prefix + field.Name;
            var value = field.Accessor.GetValue(message);
            var found = field switch
            {
                { IsMap: true } => FindInMap((System.Collections.IDictionary)value, path),
                { IsRepeated: true } => FindInList((System.Collections.IList)value, path),
                { FieldType: FieldType.String } => HasNul(value) ? path : null,
                _ => value is IMessage nested ? PathOfNul(nested, path + ".") : null,
            };
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    private static void Check<TRequest>(TRequest request)
    {
        if (request is IMessage message && FindNul(message) is { } path)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{path}: contains a NUL character (U+0000), which no text may hold"));
        }
    }

    private static string? FindInMap(System.Collections.IDictionary map, string path)
    {
        foreach (System.Collections.DictionaryEntry entry in map)
        {
            if (HasNul(entry.Key))
            {
                return $"{path} (a key)";
            }

            var item = $"{path}[\"{entry.Key}\"]";
            var found = entry.Value is IMessage nested ? PathOfNul(nested, item + ".") : HasNul(entry.Value) ? item : null;
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    private static string? FindInList(System.Collections.IList list, string path)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var item = $"{path}[{i}]";
            var found = list[i] is IMessage nested ? PathOfNul(nested, item + ".") : HasNul(list[i]) ? item : null;
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    private static bool HasNul(object? value) => value is string text && text.Contains('\0', StringComparison.Ordinal);
}
