using System.Text;
using FluentAssertions;
using Kannon.Sender;
using MimeKit;
using Xunit;

namespace Kannon.Tests.Sender;

/// <summary>The Sender hands MailKit the Envelope's bytes through <see cref="RawMessage"/>: they must come out unchanged, or DKIM breaks.</summary>
public sealed class RawMessageTests
{
    public static TheoryData<string, bool> Messages => new()
    {
        { "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=x\r\nFrom: a@example.com\r\nSubject: Grüße\r\n\r\n.line starting with a dot\r\nbody  \r\n", false },
        { "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=x\r\nFrom: a@example.com\r\nSubject: Grüße\r\n\r\n.line starting with a dot\r\nbody  \r\n", true },
        { Multipart(), false },
        { Multipart(), true },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task Writes_exactly_the_envelope_bytes(string text, bool async)
    {
        var bytes = Encoding.UTF8.GetBytes(text);

        var written = await WriteAsync(RawMessage.Of(bytes, out var size), async);

        written.Should().Equal(bytes);
        size.Should().Be(bytes.Length);
    }

    [Fact]
    public async Task A_missing_final_line_break_is_added_and_counted()
    {
        var bytes = Encoding.ASCII.GetBytes("From: a@example.com\r\n\r\nno final line break");

        var written = await WriteAsync(RawMessage.Of(bytes, out var size), async: true);

        Encoding.ASCII.GetString(written).Should().Be("From: a@example.com\r\n\r\nno final line break\r\n");
        size.Should().Be(written.Length);
    }

    [Fact]
    public void Bytes_without_a_header_block_are_refused()
    {
        var read = () => RawMessage.Of(Encoding.ASCII.GetBytes("just text\r\n"), out _);

        read.Should().Throw<FormatException>();
    }

    private static async Task<byte[]> WriteAsync(MimeMessage message, bool async)
    {
        var output = new MemoryStream();
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        options.EnsureNewLine = true;
        if (async)
        {
            await message.WriteToAsync(options, output);
        }
        else
        {
            message.WriteTo(options, output);
        }

        return output.ToArray();
    }

    private static string Multipart()
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Névé Team", "news@example.com"));
        message.To.Add(new MailboxAddress("", "ann@example.org"));
        message.Subject = "A long subject that MimeKit will fold over more than one line because it is really rather long indeed";
        var alternative = new MultipartAlternative
        {
            new TextPart("plain") { Text = "Hello\n.dot line\nwith trailing space   " },
            new TextPart("html") { Text = "<p>Hello</p>" },
        };
        message.Body = new Multipart("mixed")
        {
            alternative,
            new MimePart("application", "octet-stream") { Content = new MimeContent(new MemoryStream([1, 2, 3, 0, 255])), FileName = "a.bin", ContentTransferEncoding = ContentEncoding.Base64 },
        };
        var output = new MemoryStream();
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        message.WriteTo(options, output);
        return Encoding.UTF8.GetString(output.ToArray());
    }
}
