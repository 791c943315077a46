namespace Kannon.Tests.Deploy;

/// <summary>One Dockerfile instruction; <paramref name="Stage"/> counts FROMs from 0.</summary>
internal sealed record DockerInstruction(string Keyword, string Arguments, int Stage);
