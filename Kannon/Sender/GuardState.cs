namespace Kannon.Sender;

internal enum GuardState
{
    Claimed,
    Interrupted,
    Recorded,
}
