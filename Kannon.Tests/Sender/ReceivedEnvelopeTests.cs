using System.Buffers;
using FluentAssertions;
using Google.Protobuf;
using Kannon.Protos.Mailer.Types;
using Kannon.Sender;
using Xunit;

namespace Kannon.Tests.Sender;

/// <summary>
/// The Sender reads an Envelope with its body left in a pooled copy (ADR 0026): it must read every payload exactly as
/// protobuf's parser reads it, refuse what protobuf refuses, and give the copy back once.
/// </summary>
public sealed class ReceivedEnvelopeTests
{
    private static readonly EmailToSend Sample = new()
    {
        EmailId = "abc/msg_1@example.org",
        From = "News <news@example.org>",
        To = "ann@example.com",
        ReturnPath = "bump_x@example.org",
        Body = ByteString.CopyFromUtf8("Subject: hi\r\n\r\nHello\r\n"),
        ShouldRetry = true,
    };

    [Fact]
    public void An_envelope_reads_as_protobuf_reads_it()
    {
        var bytes = Sample.ToByteArray();

        var received = Parse(bytes);

        received.Email.Should().Be(EmailToSend.Parser.ParseFrom(bytes));
    }

    [Fact]
    public void A_payload_split_over_segments_reads_the_same()
    {
        var bytes = Sample.ToByteArray();
        var first = new Segment(bytes.AsMemory(0, 20));
        var last = first.Append(bytes.AsMemory(20));

        var received = ReceivedEnvelope.Parse(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length));

        received.Email.Should().Be(Sample);
    }

    [Fact]
    public void Repeated_bodies_unknown_fields_and_fields_after_the_body_read_as_protobuf_reads_them()
    {
        // Last scalar wins, for the body as for any other field; an unknown field is kept; order is free.
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(EmailToSend.BodyFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFromUtf8("first body"));
        output.WriteTag(EmailToSend.ToFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString("bob@example.com");
        output.WriteTag(99, WireFormat.WireType.Varint);
        output.WriteUInt64(7);
        output.WriteTag(EmailToSend.BodyFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFromUtf8("second body"));
        output.WriteTag(EmailToSend.EmailIdFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString("id/msg_2@example.org");
        output.Flush();
        var bytes = stream.ToArray();

        var received = Parse(bytes);

        received.Email.Should().Be(EmailToSend.Parser.ParseFrom(bytes));
        received.Email.Body.ToStringUtf8().Should().Be("second body");
    }

    [Fact]
    public void An_envelope_without_a_body_or_with_nothing_at_all_reads_as_protobuf_reads_it()
    {
        var noBody = new EmailToSend { EmailId = "abc/msg_1@example.org", To = "ann@example.com" }.ToByteArray();

        Parse(noBody).Email.Should().Be(EmailToSend.Parser.ParseFrom(noBody));
        Parse([]).Email.Should().Be(new EmailToSend());
    }

    [Theory]
    [InlineData(new byte[] { 0x2A, 0x05, 0x41 })]          // a body longer than the payload
    [InlineData(new byte[] { 0x0A })]                      // a tag and no length
    [InlineData(new byte[] { 0x00, 0x01 })]                // field 0
    [InlineData(new byte[] { 0x0A, 0x02, 0xFF, 0xFE })]    // an email_id that is not UTF-8
    public void Bytes_protobuf_refuses_are_refused(byte[] bytes)
    {
        var parse = () => EmailToSend.Parser.ParseFrom(bytes);
        var read = () => Parse(bytes);

        parse.Should().Throw<InvalidProtocolBufferException>();
        read.Should().Throw<InvalidProtocolBufferException>();
    }

    [Fact]
    public void Release_empties_the_body_and_a_second_release_does_nothing()
    {
        var received = Parse(Sample.ToByteArray());
        received.Email.Body.Length.Should().Be(Sample.Body.Length);

        received.Release();
        received.Release();

        received.Email.Body.IsEmpty.Should().BeTrue();
        received.Email.To.Should().Be(Sample.To);
    }

    [Fact]
    public void The_body_is_a_range_of_one_pooled_copy_not_an_array_of_its_own()
    {
        var bytes = Sample.ToByteArray();

        var received = Parse(bytes);

        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(received.Email.Body.Memory, out var segment).Should().BeTrue();
        segment.Offset.Should().BeGreaterThan(0);
        segment.Array!.Length.Should().BeGreaterThanOrEqualTo(bytes.Length);
        received.Release();
    }

    private static ReceivedEnvelope Parse(byte[] bytes) => ReceivedEnvelope.Parse(new ReadOnlySequence<byte>(bytes));

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
