namespace MqttIm.ImExtensions.Tests.Moderation;

/// <summary>A clock the test moves by hand (Microsoft.Extensions.Time.Testing is not referenced).</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks = 1_000_000;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
