using System.Text;

namespace Kannon.Dkim;

/// <summary>The fields of a written header block (CRLF lines, folded lines joined to their field), by name.</summary>
internal sealed class HeaderFields
{
    private readonly byte[] _block;
    private readonly List<(string Name, int Start, int Length)> _fields;

    private HeaderFields(byte[] block, List<(string, int, int)> fields)
    {
        _block = block;
        _fields = fields;
    }

    public static HeaderFields Parse(ReadOnlySpan<byte> block)
    {
        var copy = block.ToArray();
        var fields = new List<(string, int, int)>();
        var start = 0;
        var at = 0;
        while (at < copy.Length)
        {
            var end = copy.AsSpan(at).IndexOf("\r\n"u8);
            var next = end < 0 ? copy.Length : at + end + 2;
            var continues = next < copy.Length && copy[next] is (byte)' ' or (byte)'\t';
            if (!continues)
            {
                var length = (end < 0 ? copy.Length : at + end) - start;
                var colon = copy.AsSpan(start, length).IndexOf((byte)':');
                if (colon > 0)
                {
                    fields.Add((Encoding.ASCII.GetString(copy.AsSpan(start, colon)).TrimEnd(' ', '\t'), start, length));
                }

                start = next;
            }

            at = next;
        }

        return new HeaderFields(copy, fields);
    }

    public bool Contains(string name) => _fields.Exists(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The bottom-most field of that name, without its final CRLF.</summary>
    public ReadOnlySpan<byte> Last(string name)
    {
        var field = _fields.FindLast(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        return _block.AsSpan(field.Start, field.Length);
    }
}
