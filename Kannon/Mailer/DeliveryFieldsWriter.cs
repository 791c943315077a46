using System.Buffers;
using System.Text.Json;

namespace Kannon.Mailer;

/// <summary>
/// A Delivery's <c>fields</c> as UTF-8 JSON, written into one buffer reused for every row of a Batch: the Batch's
/// global fields, each overridden by the recipient's field of the same name (ADR 0008). What it returns is valid
/// until the next call.
/// </summary>
internal sealed class DeliveryFieldsWriter(IReadOnlyDictionary<string, string> globalFields)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly Utf8JsonWriter _writer = new(Stream.Null);

    public ReadOnlyMemory<byte> Write(IReadOnlyDictionary<string, string> recipientFields)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        foreach (var (key, value) in globalFields)
        {
            if (!recipientFields.ContainsKey(key))
            {
                _writer.WriteString(key, value);
            }
        }

        foreach (var (key, value) in recipientFields)
        {
            _writer.WriteString(key, value);
        }

        _writer.WriteEndObject();
        _writer.Flush();
        return _buffer.WrittenMemory;
    }
}
