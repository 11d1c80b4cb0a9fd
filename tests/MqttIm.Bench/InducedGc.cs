using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace MqttIm.Bench;

/// <summary>
/// Makes a .NET broker process run a full blocking GC, from outside, so an RSS reading after a connect burst measures
/// what the connections keep rather than when the GC last ran. An EventPipe session with the runtime's GCHeapCollect
/// keyword induces the collection when the session starts (what dotnet-gcdump relies on); the session's stream is read
/// until it goes quiet, taken as the collection's end (without TraceEvent the events are not parsed, so not confirmed).
/// </summary>
internal static class InducedGc
{
    private const long GcKeyword = 0x1;
    private const long GcHeapCollectKeyword = 0x800000;

    /// <summary>True when the session ran and its stream carried events (the collection was requested and written out).</summary>
    public static async Task<bool> CollectAsync(int pid, TimeSpan timeout)
    {
        try
        {
            var client = new DiagnosticsClient(pid);
            var providers = new[] { new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcKeyword | GcHeapCollectKeyword) };
            using var session = await client.StartEventPipeSessionAsync(providers, requestRundown: false, circularBufferMB: 16, CancellationToken.None).ConfigureAwait(false);
            using var deadline = new CancellationTokenSource(timeout);
            // Without TraceEvent to parse the stream, the GC's end shows as the stream going quiet: the induced collection
            // writes its start/end and heap-stats events (a few hundred ms for these heaps), then nothing more comes.
            var buffer = new byte[64 * 1024];
            var sawEvents = false;
            var started = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                while (!deadline.IsCancellationRequested)
                {
                    using var quiet = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                    quiet.CancelAfter(TimeSpan.FromMilliseconds(500));
                    int read;
                    try
                    {
                        read = await session.EventStream.ReadAsync(buffer, quiet.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                    {
                        if (sawEvents && started.Elapsed > TimeSpan.FromSeconds(1))
                        {
                            break; // quiet for 0.5 s, a second after the start: the induced collection is over
                        }

                        continue;
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    sawEvents = true;
                }
            }
            finally
            {
                await session.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return sawEvents;
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
        {
            Log.Info($"  induced GC in pid {pid} failed: {ex.Message}");
            return false;
        }
    }
}
