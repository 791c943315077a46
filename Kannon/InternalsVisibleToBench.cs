using System.Runtime.CompilerServices;

// bench/EnvelopeBench measures the internal envelope builder directly (not part of kannon.sln).
[assembly: InternalsVisibleTo("EnvelopeBench")]
