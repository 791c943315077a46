using System.Text;
using Kannon.Sender;
using MimeKit;

namespace Kannon.Tests.Sender;

public sealed class ExactCopyCheckTests
{
    [Fact]
    public void A_loaded_message_written_again_is_byte_for_byte_the_signed_one()
    {
        var raw = SenderHarness.SampleMessage("rita@example.net");

        var check = WriteThrough(raw);

        check.Identical.Should().BeTrue();
        check.Length.Should().Be(raw.Length);
    }

    [Fact]
    public void A_message_missing_its_last_line_end_gets_one_and_still_counts_as_identical()
    {
        var raw = "Subject: x\r\n\r\nbody"u8.ToArray();

        var check = WriteThrough(raw);

        check.Identical.Should().BeTrue();
        check.Length.Should().Be(raw.Length + 2);
    }

    [Fact]
    public void Bare_line_feeds_turned_into_crlf_are_caught()
    {
        var check = WriteThrough(Encoding.ASCII.GetBytes("Subject: x\n\nbody\n"));

        check.Identical.Should().BeFalse();
    }

    private static ExactCopyCheck WriteThrough(byte[] raw)
    {
        using var message = MimeMessage.Load(new MemoryStream(raw));
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.EnsureNewLine = true;
        var check = new ExactCopyCheck(raw);
        message.WriteTo(format, check);
        return check;
    }
}
