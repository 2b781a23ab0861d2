"""Visual and text encoders behind one interface: ``encode(frames [B,T,3,H,W], fps) -> [B,T',D]``.

Offline: ``synthav`` (the suite's SynthFoley encoders, a shipped asset) and ``thumbnail`` (no
weights, for tiny configs). Real encoders (open_clip towers) load local weights from the registry.
"""
