using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Kannon.Tests.Reliability;

/// <summary>
/// Request bodies a hostile or broken client could send for one gRPC method, as raw bytes, so the server's own
/// deserializer sees them: messages with random (but well-typed) fields, and bytes no protobuf encoder would write
/// (invalid UTF-8 in a string field, wrong wire types, truncated varints, lengths past the end, deep nesting, garbage).
/// Every choice comes from the <see cref="Random"/> given, so a seed reproduces a body.
/// </summary>
internal static class MalformedProtobuf
{
    public enum Kind
    {
        RandomFields,
        InvalidUtf8String,
        WrongWireType,
        TruncatedVarint,
        Truncated,
        LengthPastEnd,
        DeepNesting,
        Garbage,
        Empty,
    }

    private const int MaxDepth = 3;

    /// <summary>Hostile string values: NUL (PostgreSQL refuses it in text), lone surrogates' replacements, controls, RTL marks, huge.</summary>
    private static readonly string[] NastyStrings =
    [
        "", " ", "\0", "a\0b", "\u0001\u0002\u0003", "\r\n.\r\n", "DROP TABLE domains;--", "'\"\\", "{{", "}}", "{{ x ", "{% for %}",
        "\u202Eevil", "\uFFFD", "😀", "a@", "@b", "a@b", "<script>", "%00", "..", "../../etc/passwd", "\t", new string('x', 70_000),
    ];

    public static Kind[] Kinds { get; } = Enum.GetValues<Kind>();

    public static byte[] Create(MessageDescriptor descriptor, Kind kind, Random random) => kind switch
    {
        Kind.RandomFields => RandomMessage(descriptor, random, 0).ToByteArray(),
        Kind.InvalidUtf8String => InvalidUtf8String(descriptor, random),
        Kind.WrongWireType => WrongWireType(descriptor, random),
        Kind.TruncatedVarint => [.. Valid(descriptor, random), .. Tag(FieldNumberOf(descriptor, random), WireFormat.WireType.Varint), 0xFF, 0xFF, 0xFF],
        Kind.Truncated => Truncated(descriptor, random),
        Kind.LengthPastEnd => [.. Tag(FieldNumberOf(descriptor, random), WireFormat.WireType.LengthDelimited), .. Varint((ulong)random.Next(10, int.MaxValue)), 0x41, 0x42],
        Kind.DeepNesting => DeepNesting(random),
        Kind.Garbage => Garbage(random),
        Kind.Empty => [],
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>A message of about <paramref name="size"/> bytes: one huge value in an unknown field, valid protobuf otherwise.</summary>
    public static byte[] Oversized(int size)
    {
        var body = new byte[size];
        Array.Fill(body, (byte)'z');
        return [.. Tag(9999, WireFormat.WireType.LengthDelimited), .. Varint((ulong)size), .. body];
    }

    /// <summary>
    /// <paramref name="seed"/> (a request the server accepts) with one to three of its strings, at any depth, replaced by
    /// hostile values: this is what gets past validation of shape and reaches the stores.
    /// </summary>
    public static byte[] NearlyValid(IMessage seed, Random random)
    {
        var message = seed.Descriptor.Parser.ParseFrom(seed.ToByteString());
        var targets = new List<Action<string>>();
        CollectStrings(message, targets);
        for (var n = random.Next(1, 4); n > 0 && targets.Count > 0; n--)
        {
            targets[random.Next(targets.Count)](random.Next(2) == 0 ? Pick(random, NastyStrings) : RandomString(random));
        }

        return message.ToByteArray();
    }

    private static void CollectStrings(IMessage message, List<Action<string>> targets)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var value = field.Accessor.GetValue(message);
            if (field.IsMap)
            {
                var map = (System.Collections.IDictionary)value;
                if (field.MessageType.FindFieldByNumber(1).FieldType == FieldType.String && field.MessageType.FindFieldByNumber(2).FieldType == FieldType.String)
                {
                    targets.Add(s => map[s] = "v");
                    targets.Add(s => map["k"] = s);
                }
            }
            else if (field.IsRepeated)
            {
                var list = (System.Collections.IList)value;
                for (var i = 0; i < list.Count; i++)
                {
                    var index = i;
                    if (field.FieldType == FieldType.String)
                    {
                        targets.Add(s => list[index] = s);
                    }
                    else if (list[i] is IMessage element)
                    {
                        CollectStrings(element, targets);
                    }
                }
            }
            else if (field.FieldType == FieldType.String)
            {
                targets.Add(s => field.Accessor.SetValue(message, s));
            }
            else if (value is IMessage nested)
            {
                CollectStrings(nested, targets);
            }
        }
    }

    private static byte[] Valid(MessageDescriptor descriptor, Random random) => RandomMessage(descriptor, random, MaxDepth).ToByteArray();

    private static IMessage RandomMessage(MessageDescriptor descriptor, Random random, int depth)
    {
        var message = descriptor.Parser.ParseFrom(ByteString.Empty);
        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (random.Next(3) == 0)
            {
                continue;
            }

            if (field.IsMap)
            {
                var map = (System.Collections.IDictionary)field.Accessor.GetValue(message);
                var entry = field.MessageType;
                for (var i = random.Next(4); i > 0; i--)
                {
                    var key = RandomValue(entry.FindFieldByNumber(1), random, depth);
                    var value = RandomValue(entry.FindFieldByNumber(2), random, depth);
                    if (key is not null && value is not null)
                    {
                        map[key] = value;
                    }
                }
            }
            else if (field.IsRepeated)
            {
                var list = (System.Collections.IList)field.Accessor.GetValue(message);
                for (var i = random.Next(6); i > 0; i--)
                {
                    if (RandomValue(field, random, depth) is { } value)
                    {
                        list.Add(value);
                    }
                }
            }
            else if (RandomValue(field, random, depth) is { } value)
            {
                field.Accessor.SetValue(message, value);
            }
        }

        return message;
    }

    private static object? RandomValue(FieldDescriptor field, Random random, int depth) => field.FieldType switch
    {
        FieldType.String => RandomString(random),
        FieldType.Bytes => ByteString.CopyFrom(Garbage(random)),
        FieldType.Bool => random.Next(2) == 0,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Pick(random, [0, -1, 1, int.MinValue, int.MaxValue, random.Next(int.MinValue, int.MaxValue)]),
        FieldType.UInt32 or FieldType.Fixed32 => Pick(random, [0u, 1u, uint.MaxValue, (uint)random.NextInt64(0, uint.MaxValue)]),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Pick(random, [0L, -1L, long.MinValue, long.MaxValue, random.NextInt64(long.MinValue, long.MaxValue)]),
        FieldType.UInt64 or FieldType.Fixed64 => Pick(random, [0UL, ulong.MaxValue, (ulong)random.NextInt64()]),
        FieldType.Double => Pick(random, [0d, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.MaxValue, -1d, random.NextDouble() * 1e12]),
        FieldType.Float => Pick(random, [0f, float.NaN, float.MaxValue, -1f]),
        // Numbers the .proto does not declare are legal on the wire; the server must refuse or ignore them.
        FieldType.Enum => Pick(random, [0, 1, 2, -1, 999, int.MaxValue]),
        FieldType.Message when field.MessageType.FullName == "google.protobuf.Timestamp" => RandomTimestamp(random),
        FieldType.Message when depth < MaxDepth => RandomMessage(field.MessageType, random, depth + 1),
        _ => null,
    };

    private static Google.Protobuf.WellKnownTypes.Timestamp RandomTimestamp(Random random) => new()
    {
        // Including out-of-range seconds and nanos, which Timestamp.ToDateTime refuses.
        Seconds = Pick(random, [0L, -62135596801L, 253402300800L, long.MaxValue, random.NextInt64(0, 4_000_000_000L)]),
        Nanos = Pick(random, [0, -1, 999_999_999, 1_000_000_000, int.MaxValue]),
    };

    private static string RandomString(Random random)
    {
        if (random.Next(3) == 0)
        {
            return Pick(random, NastyStrings);
        }

        var length = random.Next(10) == 0 ? random.Next(1_000, 100_000) : random.Next(0, 40);
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            // Mostly printable ASCII, some controls and non-ASCII; never a lone surrogate (C# cannot encode one).
            var c = random.Next(10) switch
            {
                0 => (char)random.Next(0, 32),
                1 => (char)random.Next(0x80, 0xD7FF),
                _ => (char)random.Next(32, 127),
            };
            text.Append(c);
        }

        return text.ToString();
    }

    private static byte[] InvalidUtf8String(MessageDescriptor descriptor, Random random)
    {
        byte[][] invalid = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x61, 0x80, 0x62], [0xE2, 0x82]];
        var bytes = Pick(random, invalid);
        return [.. Valid(descriptor, random), .. InvalidUtf8Field(descriptor, bytes, random, 0)];
    }

    /// <summary>A string field holding <paramref name="bytes"/>, sometimes inside a nested message (a Recipient's email in a SendHTMLReq).</summary>
    private static byte[] InvalidUtf8Field(MessageDescriptor descriptor, byte[] bytes, Random random, int depth)
    {
        var fields = descriptor.Fields.InDeclarationOrder();
        var nested = fields.Where(f => f.FieldType == FieldType.Message && !f.IsMap).ToArray();
        if (nested.Length > 0 && depth < MaxDepth && random.Next(2) == 0)
        {
            var field = Pick(random, nested);
            var inner = InvalidUtf8Field(field.MessageType, bytes, random, depth + 1);
            return [.. Tag(field.FieldNumber, WireFormat.WireType.LengthDelimited), .. Varint((ulong)inner.Length), .. inner];
        }

        var strings = fields.Where(f => f.FieldType == FieldType.String).ToArray();
        var number = strings.Length > 0 ? Pick(random, strings).FieldNumber : FieldNumberOf(descriptor, random);
        return [.. Tag(number, WireFormat.WireType.LengthDelimited), .. Varint((ulong)bytes.Length), .. bytes];
    }

    private static byte[] WrongWireType(MessageDescriptor descriptor, Random random)
    {
        var fields = descriptor.Fields.InDeclarationOrder();
        var number = fields.Count > 0 ? Pick(random, fields.ToArray()).FieldNumber : 1;
        return random.Next(5) switch
        {
            0 => [.. Tag(number, WireFormat.WireType.Varint), .. Varint((ulong)random.NextInt64())],
            1 => [.. Tag(number, WireFormat.WireType.Fixed64), 1, 2, 3, 4, 5, 6, 7, 8],
            2 => [.. Tag(number, WireFormat.WireType.Fixed32), 1, 2, 3, 4],
            // An end-group with no start, and the wire types 6 and 7 protobuf never assigned.
            3 => [.. Tag(number, WireFormat.WireType.EndGroup)],
            _ => [(byte)((number << 3) | random.Next(6, 8)), 0x01],
        };
    }

    private static byte[] Truncated(MessageDescriptor descriptor, Random random)
    {
        var bytes = Valid(descriptor, random);
        return bytes.Length < 2 ? [0x0A, 0x05, 0x41] : bytes[..random.Next(1, bytes.Length)];
    }

    /// <summary>Start-groups nested past protobuf's recursion limit (100), on an unknown field.</summary>
    private static byte[] DeepNesting(Random random)
    {
        var depth = random.Next(101, 2_000);
        var start = Tag(9000, WireFormat.WireType.StartGroup);
        var end = Tag(9000, WireFormat.WireType.EndGroup);
        var bytes = new List<byte>(depth * 6);
        for (var i = 0; i < depth; i++)
        {
            bytes.AddRange(start);
        }

        for (var i = 0; i < depth; i++)
        {
            bytes.AddRange(end);
        }

        return [.. bytes];
    }

    private static byte[] Garbage(Random random)
    {
        var bytes = new byte[random.Next(1, 2_048)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static int FieldNumberOf(MessageDescriptor descriptor, Random random)
    {
        var fields = descriptor.Fields.InDeclarationOrder();
        return fields.Count > 0 && random.Next(4) != 0 ? Pick(random, fields.ToArray()).FieldNumber : random.Next(1, 536_870_911);
    }

    private static byte[] Tag(int fieldNumber, WireFormat.WireType wireType) => Varint(WireFormat.MakeTag(fieldNumber, wireType));

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>(10);
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);

        return [.. bytes];
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> choices) => choices[random.Next(choices.Count)];
}
