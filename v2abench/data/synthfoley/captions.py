"""Template captions and adverb tags of SynthFoley clips.

A caption names every source the soundtrack holds, main object first::

    "a small red metal ball bounces quickly and loudly on a hard floor close to the camera,
     while a large green frog croaks slowly and softly in the distance, rain in the background"

Adverb tags describe the main object's manner: ``[fast|slow, loud|quiet, near|far]``.
"""

from __future__ import annotations

from .scene import Scene, SceneObject

NOUNS = {"circle": "ball", "square": "block", "triangle": "wedge"}
MATERIAL_WORDS = {"metal": "metal", "wood": "wooden", "glass": "glass", "rubber": "rubber"}
SPEED_WORDS = {"fast": "quickly", "slow": "slowly"}
LOUDNESS_WORDS = {"loud": "loudly", "quiet": "softly"}
LOUDNESS_ADJECTIVES = {"loud": "loud", "quiet": "soft"}
DISTANCE_WORDS = {"near": "close to the camera", "far": "in the distance"}
AMBIENCE_WORDS = {
    "rain": "rain in the background",
    "hum": "an electric hum in the background",
    "rumble": "a distant rumble of traffic in the background",
}


def describe(obj: SceneObject) -> str:
    """One clause describing an object, its action and its manner."""
    speed, loud = SPEED_WORDS[obj.speed], LOUDNESS_WORDS[obj.loudness]
    where = DISTANCE_WORDS[obj.distance]
    who = f"a {obj.size} {obj.colour}"
    if obj.action == "bounce":
        thing = f"{who} {MATERIAL_WORDS[obj.material]} {NOUNS[obj.shape]}"
        return f"{thing} bounces {speed} and {loud} on a hard floor {where}"
    if obj.action == "slide":
        thing = f"{who} {MATERIAL_WORDS[obj.material]} {NOUNS[obj.shape]}"
        return f"{thing} slides {speed} and {loud} across the floor {where}"
    if obj.action == "drip":
        return f"water drips {speed} and {loud} from a tap into a puddle {where}"
    if obj.action == "blink":
        return f"{who} lamp blinks {speed} with a {LOUDNESS_ADJECTIVES[obj.loudness]} beeping tone {where}"
    if obj.action == "spin":
        return f"{who} fan spins {speed} with a {LOUDNESS_ADJECTIVES[obj.loudness]} whirring hum {where}"
    if obj.action == "chirp":
        return f"{who} bird chirps {speed} and {loud} {where}"
    return f"{who} frog croaks {speed} and {loud} {where}"


def caption(scene: Scene, objects: list[SceneObject] | None = None) -> str:
    """The clip's caption; ``objects`` replaces the scene's objects (e.g. another material)."""
    objects = scene.objects if objects is None else objects
    text = describe(objects[0])
    for obj in objects[1:]:
        text += f", while {describe(obj)}"
    if scene.ambience is not None:
        text += f", {AMBIENCE_WORDS[scene.ambience]}"
    return text


def adverbs(scene: Scene) -> list[str]:
    """Manner tags of the main object: speed, loudness, distance."""
    main = scene.objects[0]
    return [main.speed, main.loudness, main.distance]
